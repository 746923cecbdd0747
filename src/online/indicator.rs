//! The binary indicators a device reports: one bit each, fixed by the report's version.

use serde::{Deserialize, Serialize};

/// One yes/no fact about a device over the reporting period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Indicator {
    /// The device was shown at least one set of recommendations.
    Exposed,
    /// At least one click on a recommended item.
    Clicked,
    /// At least one add-to-cart after a recommendation.
    Carted,
    /// At least one purchase after a recommendation.
    Purchased,
    /// At least once, the next real event was in the shown top-k.
    Hit,
}

impl Indicator {
    /// Every indicator, in the order of reports, estimates and tables.
    pub const ALL: [Indicator; 5] =
        [Indicator::Exposed, Indicator::Clicked, Indicator::Carted, Indicator::Purchased, Indicator::Hit];

    /// The name in reports and tables (`exposed`, `clicked`, `carted`, `purchased`, `hit`).
    pub fn name(self) -> &'static str {
        match self {
            Indicator::Exposed => "exposed",
            Indicator::Clicked => "clicked",
            Indicator::Carted => "carted",
            Indicator::Purchased => "purchased",
            Indicator::Hit => "hit",
        }
    }
}

impl std::fmt::Display for Indicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One bit per [`Indicator`]: a device's true indicators, or the randomized ones of a report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndicatorBits {
    /// [`Indicator::Exposed`].
    pub exposed: bool,
    /// [`Indicator::Clicked`].
    pub clicked: bool,
    /// [`Indicator::Carted`].
    pub carted: bool,
    /// [`Indicator::Purchased`].
    pub purchased: bool,
    /// [`Indicator::Hit`].
    pub hit: bool,
}

impl IndicatorBits {
    /// The bit of `indicator`.
    pub fn get(&self, indicator: Indicator) -> bool {
        match indicator {
            Indicator::Exposed => self.exposed,
            Indicator::Clicked => self.clicked,
            Indicator::Carted => self.carted,
            Indicator::Purchased => self.purchased,
            Indicator::Hit => self.hit,
        }
    }

    /// Sets the bit of `indicator`.
    pub fn set(&mut self, indicator: Indicator, value: bool) {
        let bit = match indicator {
            Indicator::Exposed => &mut self.exposed,
            Indicator::Clicked => &mut self.clicked,
            Indicator::Carted => &mut self.carted,
            Indicator::Purchased => &mut self.purchased,
            Indicator::Hit => &mut self.hit,
        };
        *bit = value;
    }

    /// The bits `f` gives for each indicator.
    pub fn from_fn(mut f: impl FnMut(Indicator) -> bool) -> Self {
        let mut bits = IndicatorBits::default();
        for i in Indicator::ALL {
            bits.set(i, f(i));
        }
        bits
    }

    /// The bits read from the low [`Indicator::ALL`]`.len()` bits of `mask` (bit j = indicator j):
    /// a way to walk every combination.
    pub fn from_mask(mask: u32) -> Self {
        let mut j = 0;
        IndicatorBits::from_fn(|_| {
            let b = (mask >> j) & 1 == 1;
            j += 1;
            b
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_set_and_mask_agree_for_every_indicator() {
        for (j, &i) in Indicator::ALL.iter().enumerate() {
            let bits = IndicatorBits::from_mask(1 << j);
            for &other in &Indicator::ALL {
                assert_eq!(bits.get(other), other == i, "{i} vs {other}");
            }
            let mut b = IndicatorBits::default();
            b.set(i, true);
            assert_eq!(b, bits);
        }
        assert_eq!(IndicatorBits::from_mask(0b11111), IndicatorBits::from_fn(|_| true));
    }

    #[test]
    fn names_are_the_json_names() {
        for i in Indicator::ALL {
            assert_eq!(serde_json::to_string(&i).unwrap(), format!("\"{}\"", i.name()));
        }
        let json = serde_json::to_string(&IndicatorBits::from_fn(|i| i == Indicator::Hit)).unwrap();
        assert_eq!(json, r#"{"exposed":false,"clicked":false,"carted":false,"purchased":false,"hit":true}"#);
    }
}
