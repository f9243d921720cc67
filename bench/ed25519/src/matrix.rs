//! The agreement matrix: for each verifier and class of inputs, how often
//! it decides as the reference (`verify_strict`) does, and every input on
//! which it does not.

use std::collections::BTreeMap;

use crate::Verifier;
use crate::cases::{Case, Class};

/// Decisions of one verifier on one class, against the reference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    /// Both accept.
    pub both_accept: usize,
    /// Both refuse.
    pub both_refuse: usize,
    /// This verifier accepts, the reference refuses: labels of the inputs.
    pub only_this_accepts: Vec<String>,
    /// The reference accepts, this verifier refuses: labels of the inputs.
    pub only_reference_accepts: Vec<String>,
}

impl Cell {
    /// Inputs seen.
    pub fn total(&self) -> usize {
        self.both_accept
            + self.both_refuse
            + self.only_this_accepts.len()
            + self.only_reference_accepts.len()
    }

    /// Whether every decision matched the reference.
    pub fn agrees(&self) -> bool {
        self.only_this_accepts.is_empty() && self.only_reference_accepts.is_empty()
    }
}

/// Cells by (class, verifier).
#[derive(Clone, Debug, Default)]
pub struct Matrix {
    /// The cells.
    pub cells: BTreeMap<(Class, Verifier), Cell>,
}

/// Runs every case through `reference` and each of `others` with
/// `accepts` (normally [`Verifier::accepts`]) and tallies the decisions.
pub fn compute_with(
    cases: &[Case],
    reference: Verifier,
    others: &[Verifier],
    accepts: impl Fn(Verifier, &Case) -> bool,
) -> Matrix {
    let mut m = Matrix::default();
    for case in cases {
        let want = accepts(reference, case);
        for &v in others {
            let got = accepts(v, case);
            let cell = m.cells.entry((case.class, v)).or_default();
            match (got, want) {
                (true, true) => cell.both_accept += 1,
                (false, false) => cell.both_refuse += 1,
                (true, false) => cell.only_this_accepts.push(case.label.clone()),
                (false, true) => cell.only_reference_accepts.push(case.label.clone()),
            }
        }
    }
    m
}

/// The matrix of every other verifier against `verify_strict`.
pub fn compute(cases: &[Case]) -> Matrix {
    compute_with(cases, Verifier::DalekStrict, &Verifier::ALL[1..], |v, c| {
        v.accepts(&c.key, &c.message, &c.signature)
    })
}

impl Matrix {
    /// The cell of `class` and `verifier` (empty when never run).
    pub fn cell(&self, class: Class, verifier: Verifier) -> Cell {
        self.cells
            .get(&(class, verifier))
            .cloned()
            .unwrap_or_default()
    }

    /// A markdown table: one row per class, one column per verifier; each
    /// cell "=" when all agree, else the counts of extra accepts (+) and
    /// extra refusals (−) of that verifier, out of the class's inputs.
    pub fn markdown(&self) -> String {
        let verifiers: Vec<Verifier> = {
            let mut v: Vec<Verifier> = self.cells.keys().map(|(_, v)| *v).collect();
            v.sort();
            v.dedup();
            v
        };
        let mut md = String::from("| class | inputs | strict accepts |");
        for v in &verifiers {
            md += &format!(" {} |", v.name());
        }
        md += "\n|---|---:|---:|";
        md += &"---|".repeat(verifiers.len());
        md += "\n";
        for class in Class::ALL {
            let Some(first) = verifiers.first().map(|v| self.cell(class, *v)) else {
                break;
            };
            if first.total() == 0 {
                continue;
            }
            let strict = first.both_accept + first.only_reference_accepts.len();
            md += &format!("| {} | {} | {} |", class.name(), first.total(), strict);
            for v in &verifiers {
                let c = self.cell(class, *v);
                if c.agrees() {
                    md += " = |";
                } else {
                    let mut parts = Vec::new();
                    if !c.only_this_accepts.is_empty() {
                        parts.push(format!("+{} accepted", c.only_this_accepts.len()));
                    }
                    if !c.only_reference_accepts.is_empty() {
                        parts.push(format!("−{} refused", c.only_reference_accepts.len()));
                    }
                    md += &format!(" {} |", parts.join(", "));
                }
            }
            md += "\n";
        }
        md
    }

    /// Every disagreement, one line each: class, verifier, direction, input.
    pub fn disagreements(&self) -> Vec<String> {
        let mut out = Vec::new();
        for ((class, v), cell) in &self.cells {
            let mut seen: BTreeMap<(&str, &String), usize> = BTreeMap::new();
            for l in &cell.only_this_accepts {
                *seen.entry(("accepts, strict refuses", l)).or_default() += 1;
            }
            for l in &cell.only_reference_accepts {
                *seen.entry(("refuses, strict accepts", l)).or_default() += 1;
            }
            for ((how, label), n) in seen {
                out.push(format!(
                    "{} | {} {how} | {label} ×{n}",
                    class.name(),
                    v.name()
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(class: Class, label: &str, byte: u8) -> Case {
        Case {
            class,
            label: label.into(),
            key: [byte; 32],
            message: vec![],
            signature: [0; 64],
        }
    }

    #[test]
    fn tallies_each_direction_per_class_and_verifier() {
        let cases = [
            case(Class::Valid, "a", 1),
            case(Class::Valid, "b", 2),
            case(Class::SmallOrderR, "c", 3),
            case(Class::SmallOrderR, "d", 4),
        ];
        // Reference accepts keys 1 and 3; ring accepts 1, 2 and 4;
        // aws-lc-rs decides as the reference.
        let m = compute_with(
            &cases,
            Verifier::DalekStrict,
            &[Verifier::Ring, Verifier::AwsLc],
            |v, c| match v {
                Verifier::DalekStrict | Verifier::AwsLc => c.key[0] % 2 == 1,
                _ => c.key[0] != 3,
            },
        );
        let ring_valid = m.cell(Class::Valid, Verifier::Ring);
        assert_eq!(ring_valid.both_accept, 1);
        assert_eq!(ring_valid.only_this_accepts, ["b"]);
        assert!(ring_valid.only_reference_accepts.is_empty());
        let ring_small = m.cell(Class::SmallOrderR, Verifier::Ring);
        assert_eq!(ring_small.only_reference_accepts, ["c"]);
        assert_eq!(ring_small.only_this_accepts, ["d"]);
        assert_eq!(ring_small.total(), 2);
        assert!(m.cell(Class::Valid, Verifier::AwsLc).agrees());
        assert!(!ring_small.agrees());
        let md = m.markdown();
        assert!(md.contains("| valid | 2 | 1 | +1 accepted | = |"), "{md}");
        assert!(
            md.contains("| small-order R | 2 | 1 | +1 accepted, −1 refused | = |"),
            "{md}"
        );
        assert_eq!(m.disagreements().len(), 3);
    }

    #[test]
    fn an_unseen_cell_is_empty() {
        let m = Matrix::default();
        assert_eq!(m.cell(Class::Valid, Verifier::Ring).total(), 0);
        assert_eq!(m.markdown().lines().count(), 2);
    }
}
