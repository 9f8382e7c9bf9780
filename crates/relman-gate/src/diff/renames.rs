//! Pairing deleted and added files into renames, the way `git diff -M` does by default:
//! identical content first, then files sharing at least half their lines.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use gix::ObjectId;
use relman_core::Error;

use super::lines::{Differ, is_binary};

/// Git's default rename threshold (`-M50%`).
const MIN_SIMILARITY: f64 = 0.5;
/// Similarity costs a read of every candidate; past this many pairs (a vendored tree moved
/// wholesale) only identical content pairs up, as git does past `diff.renameLimit`.
const MAX_PAIRS: usize = 250_000;
/// Larger files are not similarity candidates (their lines still count as added/removed).
const MAX_SIMILARITY_BYTES: usize = 4 << 20;

/// One side of a would-be rename.
#[derive(Debug, Clone)]
pub(super) struct Side {
    pub path: String,
    /// `None` for a submodule entry.
    pub blob: Option<ObjectId>,
}

/// Which deleted file each added file was renamed from.
#[derive(Debug, Default)]
pub(super) struct Pairs {
    source: Vec<Option<usize>>,
    used: Vec<bool>,
}

impl Pairs {
    pub(super) fn source_of(&self, added: usize) -> Option<usize> {
        self.source.get(added).copied().flatten()
    }

    pub(super) fn is_source(&self, deleted: usize) -> bool {
        self.used.get(deleted).copied().unwrap_or(false)
    }

    fn link(&mut self, added: usize, deleted: usize) {
        self.source[added] = Some(deleted);
        self.used[deleted] = true;
    }
}

pub(super) fn pair(differ: &Differ<'_>, deleted: &[Side], added: &[Side]) -> Result<Pairs, Error> {
    let mut pairs = Pairs {
        source: vec![None; added.len()],
        used: vec![false; deleted.len()],
    };
    if deleted.is_empty() || added.is_empty() {
        return Ok(pairs);
    }
    let empty = ObjectId::empty_blob(differ.hash_kind());
    let mut by_blob: HashMap<ObjectId, Vec<usize>> = HashMap::new();
    for (i, d) in deleted.iter().enumerate().rev() {
        if let Some(b) = d.blob.filter(|b| *b != empty) {
            by_blob.entry(b).or_default().push(i);
        }
    }
    for (i, a) in added.iter().enumerate() {
        let Some(b) = a.blob else { continue };
        if let Some(d) = by_blob.get_mut(&b).and_then(Vec::pop) {
            pairs.link(i, d);
        }
    }
    similar(differ, deleted, added, &mut pairs)?;
    Ok(pairs)
}

fn similar(
    differ: &Differ<'_>,
    deleted: &[Side],
    added: &[Side],
    pairs: &mut Pairs,
) -> Result<(), Error> {
    let left: Vec<usize> = (0..deleted.len()).filter(|&d| !pairs.used[d]).collect();
    let right: Vec<usize> = (0..added.len())
        .filter(|&a| pairs.source[a].is_none())
        .collect();
    if left.is_empty() || right.is_empty() || left.len().saturating_mul(right.len()) > MAX_PAIRS {
        return Ok(());
    }
    let prints = |sides: &[Side], idx: &[usize]| -> Result<Vec<Option<Vec<u64>>>, Error> {
        idx.iter()
            .map(|&i| Ok(fingerprint(&differ.read(sides[i].blob)?)))
            .collect()
    };
    let old = prints(deleted, &left)?;
    let new = prints(added, &right)?;
    let mut scored: Vec<(f64, usize, usize)> = Vec::new();
    for (li, o) in old.iter().enumerate() {
        let Some(o) = o else { continue };
        for (ri, n) in new.iter().enumerate() {
            let Some(n) = n else { continue };
            let score = similarity(o, n);
            if score >= MIN_SIMILARITY {
                scored.push((score, left[li], right[ri]));
            }
        }
    }
    // Best pairs first; ties go to the earlier paths so the result does not depend on hashing.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (_, d, a) in scored {
        if !pairs.used[d] && pairs.source[a].is_none() {
            pairs.link(a, d);
        }
    }
    Ok(())
}

/// Sorted line hashes of a text file; `None` when it cannot be a similarity candidate.
fn fingerprint(data: &[u8]) -> Option<Vec<u64>> {
    if data.is_empty() || data.len() > MAX_SIMILARITY_BYTES || is_binary(data) {
        return None;
    }
    let mut out: Vec<u64> = data
        .split_inclusive(|&b| b == b'\n')
        .map(|line| {
            let mut h = DefaultHasher::new();
            line.hash(&mut h);
            h.finish()
        })
        .collect();
    out.sort_unstable();
    Some(out)
}

/// Shared lines over the larger file's lines (git scores against the larger side too).
fn similarity(a: &[u64], b: &[u64]) -> f64 {
    let larger = a.len().max(b.len());
    if larger == 0 || (a.len().min(b.len()) as f64) < MIN_SIMILARITY * larger as f64 {
        return 0.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f64 / larger as f64
}
