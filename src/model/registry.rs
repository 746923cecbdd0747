//! The registry of neural encoder kinds: the one place that lists them.
//!
//! Adding an encoder means one new file (its [`SeqEncoder`](super::neural::SeqEncoder) and
//! [`EncoderConfig`], with the [`EncoderOption`]s it reads and their defaults) and one line in
//! the `registry!` list below; bundles ([`super::from_bundle`]), the browser runtime, training
//! and the command line (`localrec train --model`) then know it.
//!
//! Code that does something generic over the config type of a kind named at run time (build it,
//! train it, serve it) implements [`ForKind`] and calls [`for_kind`].

use super::init::LinearInit;
use super::neural::EncoderConfig;
use super::{attnpool, bert4rec, gru4rec, lstm, sasrec};

/// An optional encoder setting that callers (the command line) may give; each encoder reads
/// some of them ([`EncoderConfig::OPTIONS`]) and has its own default for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncoderOption {
    /// Transformer blocks.
    Blocks,
    /// Attention heads.
    Heads,
    /// Recurrent layers.
    Layers,
    /// Dropout rate.
    Dropout,
    /// Share of items masked per training sequence (cloze training).
    MaskProb,
    /// Width of the feed-forward layers.
    FeedForward,
    /// Initialisation of the linear layers ([`LinearInit`]).
    LinearInit,
    /// Item categories fused into the item representation ([`super::categories`]).
    Categories,
    /// A learned event-kind embedding (view, cart, purchase, …) added to the input: the model
    /// is trained, evaluated and served with the kinds of the history's events.
    Kinds,
}

impl EncoderOption {
    /// The command-line flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            EncoderOption::Blocks => "--blocks",
            EncoderOption::Heads => "--heads",
            EncoderOption::Layers => "--layers",
            EncoderOption::Dropout => "--dropout",
            EncoderOption::MaskProb => "--mask-prob",
            EncoderOption::FeedForward => "--d-ff",
            EncoderOption::LinearInit => "--init",
            EncoderOption::Categories => "--categories",
            EncoderOption::Kinds => "--kinds",
        }
    }

    /// Every option, in the order the command line checks them.
    pub const ALL: [EncoderOption; 9] = [
        EncoderOption::Blocks,
        EncoderOption::Heads,
        EncoderOption::Layers,
        EncoderOption::MaskProb,
        EncoderOption::Dropout,
        EncoderOption::FeedForward,
        EncoderOption::LinearInit,
        EncoderOption::Categories,
        EncoderOption::Kinds,
    ];
}

/// The settings of an encoder that a caller chooses: the widths every encoder has, and the
/// optional ones ([`EncoderOption`]); `None` keeps the encoder's default.
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderOptions {
    /// Width of embeddings and hidden states.
    pub d_model: usize,
    /// Longest history read.
    pub max_len: usize,
    /// Transformer blocks ([`EncoderOption::Blocks`]).
    pub n_blocks: Option<usize>,
    /// Attention heads ([`EncoderOption::Heads`]).
    pub n_heads: Option<usize>,
    /// Recurrent layers ([`EncoderOption::Layers`]).
    pub n_layers: Option<usize>,
    /// Dropout rate ([`EncoderOption::Dropout`]).
    pub dropout: Option<f64>,
    /// Cloze masking probability ([`EncoderOption::MaskProb`]).
    pub mask_prob: Option<f64>,
    /// Feed-forward width ([`EncoderOption::FeedForward`]).
    pub d_ff: Option<usize>,
    /// Linear-layer initialisation ([`EncoderOption::LinearInit`]).
    pub linear_init: Option<LinearInit>,
    /// Fuse the data's item categories ([`EncoderOption::Categories`]); the trainer gives the
    /// lists ([`EncoderConfig::set_categories`]).
    pub categories: bool,
    /// Read the event kinds ([`EncoderOption::Kinds`]): the encoder's `use_kinds`.
    pub kinds: bool,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions {
            d_model: 64,
            max_len: 50,
            n_blocks: None,
            n_heads: None,
            n_layers: None,
            dropout: None,
            mask_prob: None,
            d_ff: None,
            linear_init: None,
            categories: false,
            kinds: false,
        }
    }
}

impl EncoderOptions {
    /// Whether `option` was given.
    pub fn has(&self, option: EncoderOption) -> bool {
        match option {
            EncoderOption::Blocks => self.n_blocks.is_some(),
            EncoderOption::Heads => self.n_heads.is_some(),
            EncoderOption::Layers => self.n_layers.is_some(),
            EncoderOption::Dropout => self.dropout.is_some(),
            EncoderOption::MaskProb => self.mask_prob.is_some(),
            EncoderOption::FeedForward => self.d_ff.is_some(),
            EncoderOption::LinearInit => self.linear_init.is_some(),
            EncoderOption::Categories => self.categories,
            EncoderOption::Kinds => self.kinds,
        }
    }
}

/// Something to do with the config type of an encoder kind chosen at run time.
pub trait ForKind {
    /// What it gives.
    type Out;
    /// Does it for the encoder whose config type is `C`.
    fn run<C: EncoderConfig>(self) -> Self::Out;
}

macro_rules! registry {
    ($($config:ty),* $(,)?) => {
        /// Every encoder kind, by the name bundles and `localrec train --model` use.
        pub const ENCODERS: [&str; [$(stringify!($config)),*].len()] = [$(<$config as EncoderConfig>::KIND),*];

        /// Runs `task` for the config type of encoder `kind`; `None` when no encoder has that name.
        pub fn for_kind<F: ForKind>(kind: &str, task: F) -> Option<F::Out> {
            $(
                if kind == <$config as EncoderConfig>::KIND {
                    return Some(task.run::<$config>());
                }
            )*
            None
        }
    };
}

// One line per encoder.
registry!(
    sasrec::SasRecConfig,
    gru4rec::Gru4RecConfig,
    lstm::LstmConfig,
    attnpool::AttnPoolConfig,
    bert4rec::Bert4RecConfig,
);

/// The optional settings encoder `kind` reads (`None` for an unknown kind).
pub fn options_of(kind: &str) -> Option<&'static [EncoderOption]> {
    struct Options;
    impl ForKind for Options {
        type Out = &'static [EncoderOption];
        fn run<C: EncoderConfig>(self) -> Self::Out {
            C::OPTIONS
        }
    }
    for_kind(kind, Options)
}

/// The encoder kinds that read `option`, in registry order.
pub fn kinds_reading(option: EncoderOption) -> Vec<&'static str> {
    ENCODERS.iter().copied().filter(|k| options_of(k).is_some_and(|o| o.contains(&option))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    mod erased {
        /// A config as JSON, to compare configs (they have no `PartialEq`).
        pub trait Config {
            fn json(&self) -> serde_json::Value;
        }
        impl<T: serde::Serialize> Config for T {
            fn json(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap()
            }
        }
    }

    #[test]
    fn every_kind_is_found_by_its_name_and_reads_its_options() {
        assert_eq!(ENCODERS, ["sasrec", "gru4rec", "lstm", "attnpool", "bert4rec"]);
        struct Kind;
        impl ForKind for Kind {
            type Out = &'static str;
            fn run<C: EncoderConfig>(self) -> &'static str {
                C::KIND
            }
        }
        for k in ENCODERS {
            assert_eq!(for_kind(k, Kind), Some(k));
        }
        assert_eq!(for_kind("gpt", Kind), None);
        assert_eq!(kinds_reading(EncoderOption::Heads), ["sasrec", "bert4rec"]);
        assert_eq!(kinds_reading(EncoderOption::Layers), ["gru4rec", "lstm"]);
        assert_eq!(kinds_reading(EncoderOption::MaskProb), ["bert4rec"]);
        assert_eq!(kinds_reading(EncoderOption::FeedForward), ["sasrec"]);
        assert_eq!(kinds_reading(EncoderOption::LinearInit), ["sasrec"]);
        assert_eq!(kinds_reading(EncoderOption::Categories), ["sasrec"]);
        assert_eq!(kinds_reading(EncoderOption::Kinds), ["sasrec", "gru4rec", "lstm", "attnpool"]);
        assert_eq!(kinds_reading(EncoderOption::Dropout), ENCODERS);
    }

    #[test]
    fn options_override_the_defaults_and_nothing_else() {
        let n = 7;
        let plain = EncoderOptions::default();
        let json = |c: &dyn erased::Config| c.json();
        assert_eq!(json(&sasrec::SasRecConfig::from_options(n, &plain)), json(&sasrec::SasRecConfig::new(n)));
        assert_eq!(json(&bert4rec::Bert4RecConfig::from_options(n, &plain)), json(&bert4rec::Bert4RecConfig::new(n)));
        assert_eq!(json(&gru4rec::Gru4RecConfig::from_options(n, &plain)), json(&gru4rec::Gru4RecConfig::new(n)));
        let given = EncoderOptions {
            d_model: 16,
            max_len: 9,
            n_blocks: Some(3),
            n_heads: Some(4),
            n_layers: Some(2),
            dropout: Some(0.1),
            mask_prob: Some(0.3),
            d_ff: Some(32),
            linear_init: Some(LinearInit::Uniform),
            categories: true,
            kinds: true,
        };
        let s = sasrec::SasRecConfig::from_options(n, &given);
        assert_eq!((s.d_model, s.max_len, s.n_blocks, s.n_heads, s.dropout), (16, 9, 3, 4, 0.1));
        assert_eq!((s.d_ff, s.linear_init), (Some(32), LinearInit::Uniform));
        let b = bert4rec::Bert4RecConfig::from_options(n, &given);
        assert_eq!((b.n_blocks, b.n_heads, b.dropout, b.mask_prob), (3, 4, 0.1, 0.3));
        let g = gru4rec::Gru4RecConfig::from_options(n, &given);
        assert_eq!((g.d_model, g.max_len, g.n_layers, g.dropout), (16, 9, 2, 0.1));
        let l = lstm::LstmConfig::from_options(n, &given);
        assert_eq!((l.n_layers, l.dropout), (2, 0.1));
        let a = attnpool::AttnPoolConfig::from_options(n, &given);
        assert_eq!((a.d_model, a.max_len, a.dropout), (16, 9, 0.1));
        assert!(s.use_kinds && g.use_kinds && l.use_kinds && a.use_kinds, "--kinds sets use_kinds");
        let plain_gru = gru4rec::Gru4RecConfig::from_options(n, &plain);
        assert!(!plain_gru.use_kinds, "no kinds unless asked for");
    }
}
