//! The command line's arguments: every clap struct and enum, and (below them) how they turn
//! into the library's configurations.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use clap::{Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use localrec::data::format::ColumnMap;
use localrec::data::loaders::LoadOptions;
use localrec::data::{DataFormat, Phase, SplitSpec};
use localrec::eval::{EvalConfig, NegativeSampling, SampledConfig};
use localrec::model::init::LinearInit;
use localrec::model::registry::EncoderOptions;
use localrec::train::{Batching, Loss, Samples, TrainConfig};
use localrec::{Error, Result, model};

const AFTER_HELP: &str = "\
Examples:
  localrec data fetch ml-100k                    # the embedded default dataset (MovieLens-100k)
  localrec data stats beauty                     # Amazon Beauty from ../shared/data
  localrec eval --model pop --data ml-100k       # full-ranking leave-one-out evaluation
  localrec compare --models pop,markov,itemknn --data beauty --out reports/beauty
  localrec train --data beauty --loss sampled:256 --checkpoint models/beauty-best.lrec
  localrec export --model models/beauty-sasrec.lrec --out web/beauty.lrec --half
  localrec export --model models/big.lrec --out web/big-pq.lrec --items pq:16 --exact 4096
  localrec ab-estimate reports.jsonl             # A/B rates from shoppers' private reports

Data (--data): a short name (ml-100k, beauty, sports, toys, beauty-time, video-games,
diginetica) or a path to a file or folder; the format is detected from the name and the
content, or given with --data-format.";

/// On-device sequential recommendation: datasets, baselines and a full evaluation system.
#[derive(Parser)]
#[command(name = "localrec", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Where downloaded datasets are cached [default: ./data, or $LOCALREC_DATA_DIR].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Fetch, inspect and list datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Evaluate one model with full ranking over all items.
    Eval(EvalArgs),
    /// Evaluate several models on the same cases: leaderboard, plots and significance tests.
    Compare(CompareArgs),
    /// Train a neural encoder (sasrec, gru4rec, lstm, attnpool, bert4rec) and write it as a model bundle.
    Train(TrainArgs),
    /// Re-write a model bundle (e.g. with a half-precision item table), or check one (--check).
    Export(ExportArgs),
    /// Estimate, from shoppers' private device reports (one JSON per line), each variant's rates (exposed,
    /// clicked, carted, purchased, hit) with 95% intervals, and the differences between variants (A/B).
    AbEstimate(AbEstimateArgs),
    /// Print the leaderboard (Markdown) of an accuracy file written by `compare --results`.
    Results {
        /// The accuracy file, e.g. benches/results/accuracy.json.
        file: PathBuf,
    },
    /// First run: fetch MovieLens-100k, train the default model (SASRec) unless its bundle exists, compare it with
    /// the baselines and write the report.
    Start {
        /// Folder for the report [default: <data-dir>/reports/ml-100k].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Port of the demo server (0: any free port).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Prepare everything (models, package, demo files) but do not serve the demo.
        #[arg(long)]
        no_serve: bool,
        /// Longest training of the demo's SASRec, in minutes (GRU4Rec gets half; each spends half selecting the
        /// epoch on validation and half refitting).
        #[arg(long, default_value_t = 10.0)]
        max_minutes: f64,
    },
}

#[derive(Subcommand)]
pub enum DataCommand {
    /// Download a dataset into the data folder (ml-100k: from the recbole 1.2.1 wheel on PyPI).
    Fetch {
        /// Dataset to fetch.
        #[arg(value_parser = ["ml-100k"])]
        name: String,
        /// Use this recbole-1.2.1 wheel file instead of downloading it with pip.
        #[arg(long, value_name = "WHL")]
        wheel: Option<PathBuf>,
    },
    /// List the datasets that can be named with --data, and whether each is available here.
    List,
    /// Write a dataset (after the loading options) as JSON: the held-out data the browser
    /// package evaluates a bundle on (`rec.evaluate`), e.g. in the demo's evaluation page.
    Export {
        /// Dataset: short name or path.
        data: String,
        #[command(flatten)]
        load: LoadArgs,
        /// Where to write the JSON file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print statistics of a dataset.
    Stats {
        /// Dataset: short name or path.
        data: String,
        #[command(flatten)]
        load: LoadArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Clone)]
pub struct LoadArgs {
    /// Format of the data file, when detection is not enough.
    #[arg(long, value_name = "FORMAT")]
    pub data_format: Option<DataFormat>,
    /// Column mapping for CSV/TSV event logs, e.g. `user=visitorid,item=itemid,event=event,timestamp=timestamp`.
    #[arg(long, value_name = "MAP")]
    pub columns: Option<ColumnMap>,
    /// Keep only users and items with at least this many interactions: `U,I` or one number for both.
    #[arg(long, value_name = "U,I")]
    pub k_core: Option<String>,
    /// Drop an interaction that repeats the item just before it.
    #[arg(long)]
    pub dedupe: bool,
}

/// The data a command works on and how it is split.
#[derive(Args, Clone)]
pub struct DataArgs {
    /// Dataset: short name or path.
    #[arg(long)]
    pub data: String,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Split: loo, temporal[:TEST[:VALID]] (quantiles or ms), session[:GAP[:TEST[:VALID]]]. Training sees the
    /// training part; `train` selects its epoch on the validation part.
    #[arg(long, default_value = "loo")]
    pub split: SplitSpec,
}

#[derive(Args, Clone)]
pub struct EvalOpts {
    #[command(flatten)]
    pub data: DataArgs,
    /// Evaluate on the test or the validation part.
    #[arg(long, value_enum, default_value_t = PhaseArg::Test)]
    pub phase: PhaseArg,
    /// Do not remove the user's history from the candidates.
    #[arg(long)]
    pub no_mask: bool,
    /// The model sees at most the last N items of a history.
    #[arg(long, default_value_t = 50)]
    pub max_len: usize,
    /// Cut-offs for @K metrics.
    #[arg(long, value_delimiter = ',', default_value = "1,5,10,20,50")]
    pub ks: Vec<usize>,
    /// Also report sampled metrics (target vs N sampled negatives), labelled as sampled.
    #[arg(long, value_enum)]
    pub sampled: Option<SamplingArg>,
    /// Negatives per case for --sampled.
    #[arg(long, default_value_t = 100)]
    pub negatives: usize,
    /// Bootstrap resamples for the 95% confidence intervals (0 = none).
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print the JSON report to stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Write report.json, report.md and SVG plots to this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Record each model's test metrics and the command behind them in this accuracy file
    /// (a JSON list, e.g. benches/results/accuracy.json; same model, data and backend replaced).
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// With --results: the model bundles are training seeds of one recipe; record one row, the mean of their
    /// metrics, with each seed's command and figures and the standard deviation.
    #[arg(long, requires = "results")]
    pub seeds: bool,
    /// Backend that scores model bundles: cpu (always), wgpu or cuda (when built with that feature).
    #[arg(long, default_value = "cpu", value_parser = localrec::backend::BACKENDS)]
    pub device: String,
}

#[derive(Args)]
pub struct TrainArgs {
    /// Encoder to train.
    #[arg(long, default_value = "sasrec", value_parser = model::ENCODERS)]
    pub model: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// Where to write the bundle [default: <data-dir>/models/<data>-<model>.lrec].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Most epochs.
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Stop after this many validations without a better validation NDCG@10.
    #[arg(long, default_value_t = 10)]
    pub patience: usize,
    /// Validate (and count patience) every this many epochs.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub eval_every: usize,
    /// Stop (after the current epoch) once training has run this many minutes.
    #[arg(long, value_name = "MIN")]
    pub max_minutes: Option<f64>,
    /// Samples per batch.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Peak learning rate (Adam).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Width of embeddings and hidden states.
    #[arg(long, default_value_t = 64)]
    pub dim: usize,
    /// Transformer blocks (sasrec, bert4rec) [default: 2].
    #[arg(long)]
    pub blocks: Option<usize>,
    /// Attention heads (sasrec, bert4rec) [default: sasrec 1, bert4rec 2].
    #[arg(long)]
    pub heads: Option<usize>,
    /// Recurrent layers (gru4rec, lstm) [default: 1].
    #[arg(long)]
    pub layers: Option<usize>,
    /// Width of the feed-forward layers (sasrec) [default: 4 × dim].
    #[arg(long, value_name = "WIDTH")]
    pub d_ff: Option<usize>,
    /// Initialisation of the attention and feed-forward layers (sasrec): normal (N(0, 0.02), zero biases, the
    /// PyTorch recipe) or uniform (burn's default, ±1/√fan_in) [default: normal].
    #[arg(long, value_name = "INIT")]
    pub init: Option<LinearInit>,
    /// Fuse the data's item categories (e.g. ml-100k genres) into the item representation (sasrec).
    #[arg(long)]
    pub categories: bool,
    /// Read the event kinds (view, cart, purchase, …) through a learned kind embedding added to the
    /// item's (sasrec, gru4rec, lstm, attnpool); the bundle is then evaluated and served with the kinds.
    #[arg(long)]
    pub kinds: bool,
    /// Share of items masked per training sequence (bert4rec) [default: 0.2].
    #[arg(long)]
    pub mask_prob: Option<f64>,
    /// Dropout rate [default: sasrec 0.5 on sparse data (Amazon), 0.2 on dense data (MovieLens; see --samples), gru4rec, lstm and
    /// attnpool 0.3 (on the embeddings), bert4rec 0.2].
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Longest history read.
    #[arg(long, default_value_t = 50)]
    pub max_len: usize,
    /// Seed for weights, dropout and shuffling.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Training loss: full (softmax over the catalog), sampled:N (softmax over N popularity-sampled negatives
    /// per batch, logQ-corrected; for large catalogs) or bce (one uniform negative per position, as in the
    /// SASRec paper).
    #[arg(long, default_value = "full", value_name = "LOSS")]
    pub loss: Loss,
    /// Training samples per sequence: all (its newest max-len + 1 items, every position predicting the next),
    /// prefix (every prefix, one target each: the recipe of the FMLP-Rec family) or sliding:S (windows every S
    /// items).
    /// [default: chosen by the data: all where histories are shorter than max-len on average (Amazon), else
    /// sliding:<max-len / 2> (MovieLens)].
    #[arg(long, value_name = "SAMPLES")]
    pub samples: Option<Samples>,
    /// Batches: length-weighted (samples of similar length together, every target position weighing the same),
    /// length (the same batches, the loss averaged per batch: short samples weigh more) or random (any lengths
    /// together, averaged per batch).
    #[arg(long, default_value = "length-weighted", value_name = "BATCHING")]
    pub batching: Batching,
    /// Decoupled weight decay (AdamW); 0 is plain Adam.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// Steps of linear learning-rate warm-up.
    #[arg(long, default_value_t = 100, value_name = "STEPS")]
    pub warmup: usize,
    /// Compute backend: cpu (always), wgpu or cuda (when built with the feature of that name).
    #[arg(long, default_value = "cpu", value_parser = localrec::backend::BACKENDS)]
    pub device: String,
    /// Keep the best model so far in this bundle file, rewritten (atomically) after every improvement, so an
    /// interrupted run leaves a usable model.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// After choosing the epoch on validation, retrain from the same start on everything before each user's test
    /// item (as the baselines are fit for the test phase) for that many epochs; the bundle holds the retrained
    /// model. Doubles the training time.
    #[arg(long)]
    pub refit: bool,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The model bundle to read.
    #[arg(long, value_name = "FILE.lrec")]
    pub model: PathBuf,
    /// Where to write the re-encoded bundle (may be the input itself; written atomically).
    #[arg(long, value_name = "OUT", required_unless_present = "check")]
    pub out: Option<PathBuf>,
    /// Store the item embedding table as f16 (about half the size of most bundles; scores move by ~1e-4 of their
    /// range). Without it the table is written as f32.
    #[arg(long, conflicts_with = "items")]
    pub half: bool,
    /// How to store the item table: f32, f16 (as --half), int8 (per-row scaled, ~4x smaller than f32) or pq:M
    /// (product quantisation, M bytes per item, M dividing the model width; scored by asymmetric distance
    /// computation). int8 and pq replace the model's table: the browser never holds the f32 table.
    #[arg(long, value_name = "FORMAT")]
    pub items: Option<String>,
    /// pq only: keep the rows of the N most popular items (training counts) in f16; their scores and their
    /// embeddings as history items are then exact (to f16).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub exact: usize,
    /// pq only: seed of the k-means that learns the centroids.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only check the bundle: read it (checksum), load its weights into its model, print its manifest summary.
    #[arg(long, conflicts_with_all = ["out", "half", "items"])]
    pub check: bool,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Model to evaluate: pop, markov, itemknn, or a model bundle file (.lrec) from `train`.
    #[arg(long)]
    pub model: String,
    #[command(flatten)]
    pub opts: EvalOpts,
}

#[derive(Args)]
pub struct CompareArgs {
    /// Comma-separated models, e.g. pop,markov,itemknn,models/beauty-sasrec.lrec.
    #[arg(long, value_delimiter = ',', required = true)]
    pub models: Vec<String>,
    #[command(flatten)]
    pub opts: EvalOpts,
}

#[derive(Args)]
pub struct AbEstimateArgs {
    /// The reports: one private report (JSON, as `privatize` writes it) per line; blank lines are skipped.
    #[arg(value_name = "REPORTS.jsonl")]
    pub reports: PathBuf,
    /// Print the estimates as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PhaseArg {
    Test,
    Valid,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SamplingArg {
    Uniform,
    Popularity,
}

// How the arguments become the library's configurations: here only, so a flag and what it sets
// are found together.

impl LoadArgs {
    /// The library's loading options, reading named datasets from `data_dir`.
    pub fn load_options(&self, data_dir: &Path) -> Result<LoadOptions> {
        Ok(LoadOptions {
            format: self.data_format,
            columns: self.columns.clone(),
            data_dir: data_dir.to_path_buf(),
            dedupe_consecutive: self.dedupe,
            k_core: self.k_core.as_deref().map(parse_k_core).transpose()?,
            ..LoadOptions::default()
        })
    }
}

fn parse_k_core(s: &str) -> Result<(usize, usize)> {
    let bad = || Error::invalid("--k-core", format!("`{s}` is not `U,I` or one whole number"));
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    match parts.as_slice() {
        [k] => {
            let k = k.parse().map_err(|_| bad())?;
            Ok((k, k))
        }
        [u, i] => Ok((u.parse().map_err(|_| bad())?, i.parse().map_err(|_| bad())?)),
        _ => Err(bad()),
    }
}

impl TrainArgs {
    /// The encoder settings the flags give (`None` where a flag is absent: the encoder's own
    /// default then).
    pub fn encoder_options(&self) -> EncoderOptions {
        EncoderOptions {
            d_model: self.dim,
            max_len: self.max_len,
            n_blocks: self.blocks,
            n_heads: self.heads,
            n_layers: self.layers,
            dropout: self.dropout,
            mask_prob: self.mask_prob,
            d_ff: self.d_ff,
            linear_init: self.init,
            categories: self.categories,
            kinds: self.kinds,
        }
    }
}

impl EvalOpts {
    /// The library's evaluation config.
    pub fn eval_config(&self) -> EvalConfig {
        EvalConfig {
            ks: self.ks.clone(),
            mask_history: !self.no_mask,
            max_len: self.max_len,
            sampled: self.sampled.map(|s| SampledConfig {
                negatives: self.negatives,
                strategy: match s {
                    SamplingArg::Uniform => NegativeSampling::Uniform,
                    SamplingArg::Popularity => NegativeSampling::Popularity,
                },
            }),
            bootstrap: self.bootstrap,
            seed: self.seed,
            ..EvalConfig::default()
        }
    }
}

impl From<PhaseArg> for Phase {
    fn from(p: PhaseArg) -> Phase {
        match p {
            PhaseArg::Test => Phase::Test,
            PhaseArg::Valid => Phase::Valid,
        }
    }
}

impl TrainArgs {
    /// The library's training config (the encoder's own config is built in `train.rs`).
    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            max_len: self.max_len,
            patience: self.patience,
            eval_every: self.eval_every,
            seed: self.seed,
            max_seconds: self.max_minutes.map(|m| m * 60.0),
            verbose: false, // `train`'s progress callback reports instead
            loss: self.loss,
            samples: self.samples.unwrap_or_default(),
            batching: self.batching,
            weight_decay: self.weight_decay,
            warmup_steps: self.warmup,
            checkpoint: self.checkpoint.clone(),
            refit: self.refit,
            ..TrainConfig::default()
        }
    }
}

/// The arguments `T` that the command line gives for `flags` (flags only, no program name): what
/// `flags` leaves out gets the command line's default, so a command that runs others (`start`)
/// states only the values it chooses.
pub fn from_flags<T: Args + FromArgMatches>(flags: impl IntoIterator<Item = OsString>) -> Result<T> {
    T::augment_args(clap::Command::new("localrec"))
        .try_get_matches_from(std::iter::once(OsString::from("localrec")).chain(flags))
        .and_then(|m| T::from_arg_matches(&m))
        .map_err(|e| Error::invalid("arguments", format!("internal error: bad arguments built by localrec: {e}")))
}

/// `--name=value`, one argument (the value may start with `-` or be a path that is not UTF-8).
pub fn flag(name: &str, value: impl AsRef<OsStr>) -> OsString {
    let mut f = OsString::from(format!("--{name}="));
    f.push(value);
    f
}
