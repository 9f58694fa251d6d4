//! Token alignment: how well the words of one sentence, each read in its context by the
//! model, find a counterpart in another (BERTScore's F1, Zhang et al. 2020). A sentence's
//! mean vector blurs a short idiom into the rest of the sentence ("big calls" reads far
//! from "decisions"); matching token by token keeps it, so the two together place a
//! paraphrase nearer its example than either alone.
//!
//! Each token's vector is kept as bytes with one scale per token: a quarter of the memory
//! of floats, and the dot products it feeds move by about a thousandth.

use std::sync::Arc;

use super::model::DIMS;

/// The last-layer vectors of one sentence's tokens (`[CLS]` and `[SEP]` left out), each of
/// unit length, quantised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenVectors {
    /// One factor per token: component `j` of token `i` is `data[i * DIMS + j] * scale[i]`.
    scale: Vec<f32>,
    data: Vec<i8>,
}

/// Shared token vectors, as the reader's cache and the indexes hold them.
pub type Tokens = Arc<TokenVectors>;

impl TokenVectors {
    /// Quantises `rows` (each [`DIMS`] long and of unit length).
    pub fn new<'a>(rows: impl IntoIterator<Item = &'a [f32]>) -> Self {
        let mut scale = Vec::new();
        let mut data = Vec::new();
        for row in rows {
            let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
            let s = if max > 0.0 { max / 127.0 } else { 1.0 };
            scale.push(s);
            data.extend(row.iter().map(|x| (x / s).round() as i8));
        }
        Self { scale, data }
    }

    /// Tokens held.
    pub fn len(&self) -> usize {
        self.scale.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scale.is_empty()
    }

    fn dot(&self, i: usize, other: &Self, j: usize) -> f32 {
        let a = &self.data[i * DIMS..(i + 1) * DIMS];
        let b = &other.data[j * DIMS..(j + 1) * DIMS];
        let sum: i32 = a
            .iter()
            .zip(b)
            .map(|(x, y)| i32::from(*x) * i32::from(*y))
            .sum();
        sum as f32 * self.scale[i] * other.scale[j]
    }
}

/// BERTScore's F1 of two sentences: each token of one is matched to its most similar
/// token of the other, the similarities averaged both ways, then their harmonic mean. 0
/// when either has no tokens.
pub fn align(a: &TokenVectors, b: &TokenVectors) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let mut best_a = vec![f32::MIN; a.len()];
    let mut best_b = vec![f32::MIN; b.len()];
    for (i, ba) in best_a.iter_mut().enumerate() {
        for (j, bb) in best_b.iter_mut().enumerate() {
            let s = a.dot(i, b, j);
            *ba = ba.max(s);
            *bb = bb.max(s);
        }
    }
    let recall = best_a.iter().sum::<f32>() / a.len() as f32;
    let precision = best_b.iter().sum::<f32>() / b.len() as f32;
    if recall + precision <= 0.0 {
        return 0.0;
    }
    2.0 * recall * precision / (recall + precision)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..DIMS)
            .map(|j| (((j * 31 + seed * 17) % 23) as f32 - 11.0) / 11.0)
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn a_sentence_aligns_fully_with_itself_and_less_with_another() {
        let rows = [unit(1), unit(2), unit(3)];
        let a = TokenVectors::new(rows.iter().map(Vec::as_slice));
        assert!((align(&a, &a) - 1.0).abs() < 0.01, "{}", align(&a, &a));
        let other = [unit(4), unit(5)];
        let b = TokenVectors::new(other.iter().map(Vec::as_slice));
        assert!(align(&a, &b) < 0.9);
        assert_eq!(align(&a, &TokenVectors::default()), 0.0);
    }

    #[test]
    fn quantised_dot_products_stay_within_a_hundredth() {
        let (x, y) = (unit(7), unit(9));
        let exact: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        let a = TokenVectors::new([x.as_slice()]);
        let b = TokenVectors::new([y.as_slice()]);
        assert!((a.dot(0, &b, 0) - exact).abs() < 0.01);
    }
}
