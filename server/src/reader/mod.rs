//! The reader: turns a line of text into meaning. It splits a line into sentences, tells
//! which ask something and which carry content, embeds each sentence with a small
//! sentence-embedding model run in-process, and finds the nearest of a set of example
//! sentences. It knows nothing of rooms, sockets or scoring: the bot buyer, the recap
//! scorer and the behaviour figures call it (through [`crate::meaning`]).
//!
//! Encoding costs milliseconds of CPU, so it never runs on the relay path: rooms call
//! [`Reader::prepare`] (a blocking-pool task, one at a time, so one core is always left
//! for the relay) as lines arrive, and the pure code that reads lines later finds them in
//! the cache.

pub mod align;
pub mod budget;
pub mod index;
pub mod model;
pub mod text;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

pub use align::{align, TokenVectors, Tokens};
pub use index::{Example, Index, Nearest};
pub use model::ModelError;

/// A sentence's meaning: a unit vector of [`model::DIMS`] numbers.
pub type Embedding = Arc<[f32]>;

/// Sentences kept embedded in each of the cache's two generations. At about 6 KiB each
/// (the sentence's vector and a dozen token vectors), two generations of 4,096 hold
/// about 50 MiB: every line of a hundred live rounds, and any one debrief's.
const CACHE_GENERATION: usize = 4_096;
/// Characters of a text that are embedded; the model reads at most 128 tokens anyway.
const MAX_CHARS: usize = 1_000;
/// Encodings run at once. One leaves the second core of a small machine to the relay
/// (with candle on one thread: `serve` sets `RAYON_NUM_THREADS=1`).
const LANES: usize = 1;
/// Background readings (lines read ahead for a later debrief) waiting at once. Past this
/// the reader is behind the chat, and a line is left for the debrief to read instead:
/// reading ahead must never build a queue that bot rooms and debriefs wait behind.
const MAX_READ_AHEAD: usize = 4;

/// Cosine of two unit vectors: 1 for the same meaning, around 0 for unrelated.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// What is embedded for `text`: trimmed, whitespace folded, and cut to a bounded length.
fn key(text: &str) -> String {
    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    folded.chars().take(MAX_CHARS).collect()
}

/// What the model made of one text: its sentence vector and its tokens' vectors.
#[derive(Debug, Clone)]
pub struct Reading {
    pub vector: Embedding,
    pub tokens: Tokens,
}

impl Reading {
    fn nothing() -> Self {
        Self {
            vector: vec![0.0; model::DIMS].into(),
            tokens: Tokens::default(),
        }
    }
}

/// Two generations: when the young one fills, it becomes the old one and the old one is
/// dropped, so recently used sentences survive and memory stays bounded.
#[derive(Default)]
struct Cache {
    young: HashMap<String, Reading>,
    old: HashMap<String, Reading>,
}

impl Cache {
    fn get(&mut self, k: &str) -> Option<Reading> {
        if let Some(v) = self.young.get(k) {
            return Some(v.clone());
        }
        let v = self.old.remove(k)?;
        self.put(k.to_string(), v.clone());
        Some(v)
    }

    fn put(&mut self, k: String, v: Reading) {
        if self.young.len() >= CACHE_GENERATION {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(k, v);
    }
}

/// The model, its cache and the lane that keeps encodings to one core.
pub struct Reader {
    model: model::Model,
    cache: Mutex<Cache>,
    lanes: tokio::sync::Semaphore,
    /// Read-ahead jobs queued or running.
    ahead: std::sync::atomic::AtomicUsize,
    /// The CPU reading ahead may take.
    budget: budget::Budget,
    /// Reading ahead is switched off (`serve --no-read-ahead`).
    ahead_off: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}

impl Reader {
    /// Loads the model from `dir` (see [`default_dir`]).
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        Ok(Self {
            model: model::Model::load(dir)?,
            cache: Mutex::new(Cache::default()),
            lanes: tokio::sync::Semaphore::new(LANES),
            ahead: std::sync::atomic::AtomicUsize::new(0),
            budget: budget::Budget::default(),
            ahead_off: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn cached(&self, k: &str) -> Option<Reading> {
        self.cache.lock().ok()?.get(k)
    }

    /// Reads `texts` (from the cache where it can), in order. Blocks for the model: call
    /// it from a blocking context or from pure code that reads prepared lines.
    pub fn read_all(&self, texts: &[&str]) -> Vec<Reading> {
        let keys: Vec<String> = texts.iter().map(|t| key(t)).collect();
        let mut out: Vec<Option<Reading>> = keys.iter().map(|k| self.cached(k)).collect();
        let mut missing: Vec<&str> = Vec::new();
        for (k, v) in keys.iter().zip(&out) {
            if v.is_none() && !missing.contains(&k.as_str()) {
                missing.push(k);
            }
        }
        // Batches of similar sizes pad little; a batch bounds the memory of one call.
        for chunk in missing.chunks(32) {
            let readings: Vec<Reading> = match self.model.encode(chunk) {
                Ok(v) => v
                    .into_iter()
                    .map(|(vector, tokens)| Reading {
                        vector: vector.into(),
                        tokens: Arc::new(tokens),
                    })
                    .collect(),
                Err(e) => {
                    // The tokenizer and model accept any text; should one ever fail, the
                    // sentence reads as meaning nothing rather than stopping the room.
                    tracing::warn!(error = %e, "the reader could not embed a batch");
                    vec![Reading::nothing(); chunk.len()]
                }
            };
            let mut cache = self.cache.lock().ok();
            for (k, v) in chunk.iter().zip(readings) {
                if let Some(c) = cache.as_mut() {
                    c.put(k.to_string(), v.clone());
                }
                for (slot, key) in out.iter_mut().zip(&keys) {
                    if slot.is_none() && key == k {
                        *slot = Some(v.clone());
                    }
                }
            }
        }
        out.into_iter()
            .map(|v| v.unwrap_or_else(Reading::nothing))
            .collect()
    }

    /// Embeds `texts` (from the cache where it can), in order; see [`Reader::read_all`].
    pub fn embed_all(&self, texts: &[&str]) -> Vec<Embedding> {
        self.read_all(texts).into_iter().map(|r| r.vector).collect()
    }

    /// Embeds one text.
    pub fn embed(&self, text: &str) -> Embedding {
        self.embed_all(&[text]).remove(0)
    }

    /// Reads one text: its vector and its tokens' vectors.
    pub fn read(&self, text: &str) -> Reading {
        self.read_all(&[text]).remove(0)
    }

    /// Embeds `texts` on the blocking pool, one encoding at a time across the server, so
    /// that pure code reading them afterwards finds them cached. Never blocks the caller's
    /// thread.
    pub async fn prepare(self: &Arc<Self>, texts: Vec<String>) {
        self.prepare_timed(texts).await;
    }

    /// [`Reader::prepare`], returning the time the encoding itself took (not the wait
    /// for a lane).
    async fn prepare_timed(self: &Arc<Self>, texts: Vec<String>) -> std::time::Duration {
        if texts.is_empty() {
            return std::time::Duration::ZERO;
        }
        let Ok(_lane) = self.lanes.acquire().await else {
            return std::time::Duration::ZERO;
        };
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            me.embed_all(&refs);
            started.elapsed()
        })
        .await
        .unwrap_or_default()
    }
}

impl Reader {
    /// Offers one line for reading ahead: whether [`read_ahead`](Self::read_ahead) would
    /// take a job now. The room asks first: working out what to read costs the relay
    /// path, and is wasted while the reader is behind the chat or the chat is past
    /// [`budget::MAX_LINES_PER_SEC`]. Call once per line: it counts the line.
    pub fn can_read_ahead(&self) -> bool {
        use std::sync::atomic::Ordering;
        !self.ahead_off.load(Ordering::Relaxed)
            && self.budget.offer(std::time::Instant::now())
            && self.ahead.load(Ordering::Relaxed) < MAX_READ_AHEAD
    }

    /// Switches reading ahead on or off for the whole server (`serve --no-read-ahead`).
    /// Off, [`read_ahead`](Self::read_ahead) takes no job: whoever needs a line's meaning
    /// later (a debrief) reads it then. Bot rooms are unaffected: they read each line
    /// with [`prepare`](Self::prepare), as they must to answer it.
    pub fn set_read_ahead(&self, on: bool) {
        self.ahead_off
            .store(!on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Reads `texts` ahead in the background, unless `MAX_READ_AHEAD` jobs already wait
    /// or reading ahead has used its share of the CPU ([`budget`]): then they are left for
    /// whoever needs them later. Returns at once.
    pub fn read_ahead(self: &Arc<Self>, texts: Vec<String>) {
        use std::sync::atomic::Ordering;
        if texts.is_empty()
            || self.ahead_off.load(Ordering::Relaxed)
            || self.ahead.load(Ordering::Relaxed) >= MAX_READ_AHEAD
            || !self.budget.admit(std::time::Instant::now())
        {
            return;
        }
        self.ahead.fetch_add(1, Ordering::Relaxed);
        let me = self.clone();
        tokio::spawn(async move {
            let took = me.prepare_timed(texts).await;
            me.budget.spent(took);
            me.ahead.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

static SHARED: OnceLock<Arc<Reader>> = OnceLock::new();

/// Makes `reader` the one the server uses. Call once at start, before serving.
pub fn install(reader: Reader) -> Arc<Reader> {
    SHARED.get_or_init(|| Arc::new(reader)).clone()
}

/// The server's reader. When none was installed (tests, tools), loads the model from
/// [`default_dir`] on first use and stops with a message naming the path if it cannot.
pub fn shared() -> &'static Arc<Reader> {
    SHARED.get_or_init(|| {
        let dir = default_dir();
        match Reader::load(&dir) {
            Ok(r) => Arc::new(r),
            Err(e) => panic!("{e}"),
        }
    })
}

/// Where the model is found without a `--model` flag: `UNCOVER_MODEL` if set, else
/// `target/model` under the current folder or the nearest parent that has one, else the
/// repository this binary was built from.
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("UNCOVER_MODEL") {
        return PathBuf::from(dir);
    }
    let here = std::env::current_dir().unwrap_or_default();
    for dir in here.ancestors() {
        let candidate = dir.join("target").join("model");
        if candidate.join("model.safetensors").exists() {
            return candidate;
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("model")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_cosines_match_sentence_transformers() {
        let r = shared();
        let v = r.embed_all(&[
            "The weather is lovely today.",
            "It's so sunny outside!",
            "He drove to the stadium.",
        ]);
        let close = |a: f32, b: f32| (a - b).abs() < 0.002;
        let (ab, ac, bc) = (
            cosine(&v[0], &v[1]),
            cosine(&v[0], &v[2]),
            cosine(&v[1], &v[2]),
        );
        assert!(close(ab, 0.6660), "{ab}");
        assert!(close(ac, 0.1046), "{ac}");
        assert!(close(bc, 0.1411), "{bc}");
    }

    #[test]
    fn odd_input_embeds_without_failing() {
        let r = shared();
        let long = "word ".repeat(400);
        for t in [
            "",
            "🙂🙂🙂",
            &long,
            "fn main() { let x = 1; }",
            "Wie geht es Ihnen?",
        ] {
            let v = r.embed(t);
            assert_eq!(v.len(), model::DIMS);
            assert!(v.iter().all(|x| x.is_finite()), "{t}");
        }
    }

    #[test]
    fn a_missing_model_names_the_path_and_the_fix() {
        let err = Reader::load(Path::new("/nonexistent/model")).expect_err("no model there");
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/model"), "{msg}");
        assert!(msg.contains("make model"), "{msg}");
    }

    #[test]
    fn a_corrupt_model_is_refused_with_its_path() {
        let dir = std::env::temp_dir().join(format!("uncover-bad-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let real = default_dir();
        for f in ["config.json", "tokenizer.json"] {
            std::fs::copy(real.join(f), dir.join(f)).expect("copy");
        }
        std::fs::write(dir.join("model.safetensors"), b"not weights").expect("write");
        let err = Reader::load(&dir).expect_err("corrupt weights");
        assert!(err.to_string().contains("model.safetensors"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
