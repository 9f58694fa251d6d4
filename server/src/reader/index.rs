//! Nearest-example matching: a set of example sentences, each filed under a key (a fact,
//! a kind of question), and the key whose example lies nearest a new sentence, with the
//! runner-up key's best score so a caller can demand a clear lead.

use super::{cosine, Embedding, Tokens};

/// One example sentence and the key it stands for.
#[derive(Debug, Clone)]
pub struct Example<K> {
    pub key: K,
    pub text: String,
    pub vector: Embedding,
    /// Its tokens' vectors, for indexes matched token by token too (empty otherwise).
    pub tokens: Tokens,
}

/// Examples to match against.
#[derive(Debug, Clone)]
pub struct Index<K> {
    examples: Vec<Example<K>>,
}

/// The nearest example to a sentence, and how close the best example of any other key
/// came.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest<K> {
    pub key: K,
    pub example: String,
    pub score: f32,
    /// The best other key and its score; none when the index has one key.
    pub runner_up: Option<(K, f32)>,
}

impl<K> Nearest<K> {
    /// How far the nearest key leads the runner-up (the whole score without one).
    pub fn lead(&self) -> f32 {
        self.score - self.runner_up.as_ref().map_or(0.0, |r| r.1)
    }
}

impl<K: Clone + PartialEq> Index<K> {
    pub fn new(examples: Vec<Example<K>>) -> Self {
        Self { examples }
    }

    pub fn examples(&self) -> &[Example<K>] {
        &self.examples
    }

    /// Each key once, with its best example's score against `v`, best first.
    pub fn ranked(&self, v: &[f32]) -> Vec<(K, f32, usize)> {
        self.ranked_by(None, |e| cosine(v, &e.vector))
    }

    /// Each key once, with its best example's `score`, best first, leaving out example
    /// number `skip`.
    pub fn ranked_by(
        &self,
        skip: Option<usize>,
        score: impl Fn(&Example<K>) -> f32,
    ) -> Vec<(K, f32, usize)> {
        let mut best: Vec<(K, f32, usize)> = Vec::new();
        for (i, e) in self.examples.iter().enumerate() {
            if Some(i) == skip {
                continue;
            }
            let s = score(e);
            match best.iter_mut().find(|b| b.0 == e.key) {
                Some(b) if s > b.1 => {
                    b.1 = s;
                    b.2 = i;
                }
                Some(_) => {}
                None => best.push((e.key.clone(), s, i)),
            }
        }
        best.sort_by(|a, b| b.1.total_cmp(&a.1));
        best
    }

    /// The nearest key to `v`; none for an empty index.
    pub fn nearest(&self, v: &[f32]) -> Option<Nearest<K>> {
        self.nearest_among(v, |_| true)
    }

    /// The nearest key to `v` among the keys `keep` allows.
    pub fn nearest_among(&self, v: &[f32], keep: impl Fn(&K) -> bool) -> Option<Nearest<K>> {
        let ranked: Vec<(K, f32, usize)> =
            self.ranked(v).into_iter().filter(|r| keep(&r.0)).collect();
        let (key, score, i) = ranked.first()?.clone();
        Some(Nearest {
            key,
            example: self.examples[i].text.clone(),
            score,
            runner_up: ranked.get(1).map(|r| (r.0.clone(), r.1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[f32]) -> Embedding {
        let n = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        x.iter().map(|a| a / n).collect()
    }

    #[test]
    fn the_nearest_key_leads_the_best_other_key() {
        let idx = Index::new(vec![
            Example {
                key: "a",
                text: "a1".into(),
                vector: v(&[1.0, 0.0]),
                tokens: Tokens::default(),
            },
            Example {
                key: "a",
                text: "a2".into(),
                vector: v(&[0.9, 0.1]),
                tokens: Tokens::default(),
            },
            Example {
                key: "b",
                text: "b1".into(),
                vector: v(&[0.0, 1.0]),
                tokens: Tokens::default(),
            },
        ]);
        let n = idx.nearest(&v(&[0.8, 0.3])).expect("an answer");
        assert_eq!(n.key, "a");
        assert_eq!(n.example, "a2");
        assert_eq!(n.runner_up.as_ref().map(|r| r.0), Some("b"));
        assert!(n.lead() > 0.5);
        assert!(idx.nearest_among(&v(&[1.0, 0.0]), |k| *k == "b").is_some());
        assert!(Index::<&str>::new(vec![])
            .nearest(&v(&[1.0, 0.0]))
            .is_none());
    }
}
