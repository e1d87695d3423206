//! Shards (`--shard K/N`): a plan's files split into N parts of about the same number of
//! directives, the same split on every machine, so N CI runners each run one part and their
//! records are merged afterwards (`tandem merge`, `tandem parity --from-records`).

use std::fmt;
use std::str::FromStr;

use crate::suite::Plan;
use crate::wast::RunError;

/// Part `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, from 1.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N` with `1 <= K <= N`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard: expected K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) =
            (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Plan {
    /// The plan's part `shard`: its files (after the filter) dealt out heaviest first, each
    /// to the part with the fewest directives so far (the lowest-numbered on a tie), and kept
    /// in the plan's order. Every suite stays, with no files if none fell to this part.
    pub fn shard(&self, shard: Shard) -> Result<Plan, RunError> {
        // (directives, suite, file), in the plan's order.
        let files = self
            .selected_files()
            .map(|(s, f, file)| Ok((file.directives()?, s, f)))
            .collect::<Result<Vec<_>, RunError>>()?;
        // Heaviest first; the sort is stable, so ties keep the plan's order.
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(files[i].0));
        let mut load = vec![0usize; shard.count];
        let mut part = vec![0usize; files.len()];
        for i in order {
            let lightest = (0..shard.count).min_by_key(|&p| (load[p], p)).unwrap_or(0);
            load[lightest] += files[i].0;
            part[i] = lightest;
        }
        let mut suites: Vec<_> =
            self.suites.iter().map(|(suite, _)| (suite.clone(), Vec::new())).collect();
        for (i, &(_, s, f)) in files.iter().enumerate() {
            if part[i] + 1 == shard.index {
                suites[s].1.push(self.suites[s].1[f].clone());
            }
        }
        let filter = self.filter.clone();
        Ok(Plan { suites, default_features: self.default_features, filter, retries: self.retries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Features;

    fn names(plan: &Plan) -> Vec<String> {
        plan.suites.iter().flat_map(|(_, files)| files.iter().map(|f| f.name.clone())).collect()
    }

    #[test]
    fn shards_parse_as_k_of_n() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard { index: 1, count: 3 }.to_string(), "1/3");
        for bad in ["0/4", "5/4", "4", "a/b", "1/0"] {
            let err = bad.parse::<Shard>().expect_err(bad);
            assert!(err.contains("expected K/N"), "{err}");
        }
    }

    #[test]
    fn shards_split_the_files_once_each_balanced_by_directives() {
        let names_in = ["spec:v1".to_owned(), "spec:tail-call".to_owned()];
        let plan = Plan::new(&names_in, Features::WASM2, None, &Default::default()).unwrap();
        let all = names(&plan);
        let directives = |p: &Plan| -> usize {
            p.suites.iter().flat_map(|(_, f)| f).map(|f| f.directives().unwrap()).sum()
        };
        let total = directives(&plan);
        let parts: Vec<Plan> =
            (1..=3).map(|index| plan.shard(Shard { index, count: 3 }).unwrap()).collect();
        // Every file in exactly one part, each part in the plan's order, every suite kept.
        let mut seen: Vec<String> = parts.iter().flat_map(names).collect();
        seen.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(seen, expected);
        for part in &parts {
            let order: Vec<usize> =
                names(part).iter().map(|n| all.iter().position(|a| a == n).unwrap()).collect();
            assert!(order.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(part.suites.len(), 2);
        }
        // No part more than the largest file above an even share.
        let largest =
            plan.suites.iter().flat_map(|(_, f)| f).map(|f| f.directives().unwrap()).max().unwrap();
        for part in &parts {
            assert!(directives(part) <= total / 3 + largest, "{} of {total}", directives(part));
        }
        // The same split every time.
        assert_eq!(names(&plan.shard(Shard { index: 2, count: 3 }).unwrap()), names(&parts[1]));
    }
}
