//! The sentence-embedding model: all-MiniLM-L6-v2 (a six-layer BERT) run in-process with
//! candle, turning a sentence into a unit vector whose cosine with another says how close
//! their meanings are.
//!
//! Weights are read into memory with candle's buffered loader (no memory-mapping, so no
//! `unsafe`). Encoding is CPU-bound and takes milliseconds: callers keep it off the relay
//! path (see [`super::Reader`]).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

use super::align::TokenVectors;

/// Each text's tokens' vectors, as the model's last layer gives them.
type PerToken = Vec<Vec<Vec<f32>>>;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// Width of one embedding.
pub const DIMS: usize = 384;
/// Longest input in tokens; the rest of a longer text is not read. A chat line or recap
/// sentence is far shorter, and attention costs grow with the square of the length.
const MAX_TOKENS: usize = 128;

/// Why the model could not be loaded. Each names the path, so an operator knows what to
/// fetch (`make model`).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the reader's model is missing: {path} does not exist (run `make model`, or point --model at a folder holding config.json, tokenizer.json and model.safetensors)")]
    Missing { path: PathBuf },
    #[error("the reader's model file {path} could not be read: {reason} (run `make model` to fetch it again)")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the reader's model in {path} is corrupt or not all-MiniLM-L6-v2: {reason} (run `make model` to fetch it again)")]
    Corrupt { path: PathBuf, reason: String },
}

/// The loaded model and its tokenizer.
pub struct Model {
    bert: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Model(all-MiniLM-L6-v2)")
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ModelError> {
    if !path.exists() {
        return Err(ModelError::Missing {
            path: path.to_owned(),
        });
    }
    std::fs::read(path).map_err(|e| ModelError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

impl Model {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        if !dir.is_dir() {
            return Err(ModelError::Missing {
                path: dir.to_owned(),
            });
        }
        let corrupt = |path: &Path, e: &dyn std::fmt::Display| ModelError::Corrupt {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let config_path = dir.join("config.json");
        let config: Config =
            serde_json::from_slice(&read(&config_path)?).map_err(|e| corrupt(&config_path, &e))?;
        let tok_path = dir.join("tokenizer.json");
        let mut tokenizer =
            Tokenizer::from_bytes(read(&tok_path)?).map_err(|e| corrupt(&tok_path, &e))?;
        // The shipped tokenizer pads every input to 128 tokens: every sentence would then
        // look alike to mean pooling and cost four times as much. Pad a batch to its
        // longest input only, and pool over the attention mask.
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| corrupt(&tok_path, &e))?;
        let weights_path = dir.join("model.safetensors");
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(read(&weights_path)?, DType::F32, &device)
            .map_err(|e| corrupt(&weights_path, &e))?;
        let bert = BertModel::load(vb, &config).map_err(|e| corrupt(&weights_path, &e))?;
        if config.hidden_size != DIMS {
            return Err(corrupt(&config_path, &"hidden_size is not 384"));
        }
        Ok(Self {
            bert,
            tokenizer,
            device,
        })
    }

    /// Unit-length embeddings of `texts`, in order: mean of the last layer over the real
    /// (unpadded) tokens, then L2-normalised, as sentence-transformers does for this model;
    /// beside each, its tokens' own unit vectors for [`super::align()`].
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<(Vec<f32>, TokenVectors)>, String> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| e.to_string())?;
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(texts.len() * len);
        let mut mask = Vec::with_capacity(texts.len() * len);
        let mut real = Vec::with_capacity(texts.len());
        for e in &encodings {
            ids.extend_from_slice(e.get_ids());
            mask.extend_from_slice(e.get_attention_mask());
            real.push(e.get_attention_mask().iter().filter(|m| **m == 1).count());
        }
        let run = || -> candle_core::Result<(Vec<Vec<f32>>, PerToken)> {
            let shape = (texts.len(), len);
            let ids = Tensor::from_vec(ids, shape, &self.device)?;
            let mask = Tensor::from_vec(mask, shape, &self.device)?;
            let types = ids.zeros_like()?;
            let hidden = self.bert.forward(&ids, &types, Some(&mask))?;
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let counts = mask.sum(1)?;
            let mean = summed.broadcast_div(&counts)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
            let pooled = mean.broadcast_div(&norm)?.to_vec2::<f32>()?;
            let token_norm = hidden.sqr()?.sum_keepdim(2)?.sqrt()?;
            let tokens = hidden.broadcast_div(&token_norm)?.to_vec3::<f32>()?;
            Ok((pooled, tokens))
        };
        let (pooled, tokens) = run().map_err(|e| e.to_string())?;
        Ok(pooled
            .into_iter()
            .zip(tokens)
            .zip(real)
            .map(|((p, t), n)| {
                // The real tokens without the [CLS] before them and the [SEP] after.
                let inner = t.get(1..n.saturating_sub(1)).unwrap_or_default();
                (p, TokenVectors::new(inner.iter().map(Vec::as_slice)))
            })
            .collect())
    }
}
