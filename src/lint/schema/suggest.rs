//! "Did you mean ...?" for misspelt field names and enum values.

/// Edit distance counting insertions, deletions, substitutions and swaps
/// of two adjacent characters (optimal string alignment), so `sepc` is one
/// edit from `spec`.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    // d[i * width + j]: distance between a[..i] and b[..j].
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        d[i * width] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// How many edits still count as a typo of a word of this length.
fn budget(len: usize) -> usize {
    match len {
        0..=4 => 1,
        5..=10 => 2,
        _ => 3,
    }
}

/// The candidate closest to `word`: an exact match ignoring ASCII case
/// first, else the nearest within a small edit budget (first one on ties),
/// else the only candidate that `word` is a shortened or lengthened form of
/// (`canarySubset` for `canarySubsetName`).
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str> + Clone,
) -> Option<&'a str> {
    if let Some(same) = candidates.clone().find(|c| c.eq_ignore_ascii_case(word)) {
        return Some(same);
    }
    let limit = budget(word.chars().count());
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates.clone() {
        let d = edit_distance(word, candidate);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    if let Some((_, c)) = best {
        return Some(c);
    }
    const MIN_PREFIX: usize = 4;
    let mut prefixed = candidates.filter(|c| {
        let (short, long) = if c.len() < word.len() {
            (*c, word)
        } else {
            (word, *c)
        };
        short.len() >= MIN_PREFIX && long.starts_with(short)
    });
    match (prefixed.next(), prefixed.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// `a, b, c` of at most `max` items, then how many more.
pub(crate) fn list<'a>(items: impl ExactSizeIterator<Item = &'a str>, max: usize) -> String {
    let total = items.len();
    let mut out = String::new();
    for (i, item) in items.take(max).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(item);
    }
    if total > max {
        out.push_str(&format!(", ... ({} more)", total - max));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_single_edits() {
        assert_eq!(
            edit_distance("consecutive5xxError", "consecutive5xxErrors"),
            1
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("sepc", "spec"), 1, "a swap is one edit");
        assert_eq!(edit_distance("abc", ""), 3);
    }

    #[test]
    fn suggests_the_nearest_within_budget() {
        let props = [
            "consecutive5xxErrors",
            "consecutiveErrors",
            "consecutiveGatewayErrors",
            "interval",
        ];
        assert_eq!(
            closest("consecutive5xxError", props.iter().copied()),
            Some("consecutive5xxErrors")
        );
        assert_eq!(closest("Interval", props.iter().copied()), Some("interval"));
        assert_eq!(closest("baseEjectionTime", props.iter().copied()), None);
        // Short words allow a single edit only.
        assert_eq!(closest("tls", ["to", "tcp"].iter().copied()), None);
        assert_eq!(closest("tlz", ["to", "tls"].iter().copied()), Some("tls"));
        // A unique prefix or extension, however long the difference.
        let dr = [
            "additionalSubsetNames",
            "canarySubsetName",
            "name",
            "stableSubsetName",
        ];
        assert_eq!(
            closest("canarySubset", dr.iter().copied()),
            Some("canarySubsetName")
        );
        assert_eq!(
            closest("stableSubsetNameOverride", dr.iter().copied()),
            Some("stableSubsetName")
        );
        assert_eq!(
            closest("consecutive", props.iter().copied()),
            None,
            "ambiguous"
        );
        assert_eq!(
            closest("nam", ["namespace"].iter().copied()),
            None,
            "too short"
        );
    }

    #[test]
    fn lists_are_truncated() {
        assert_eq!(list(["a", "b"].iter().copied(), 5), "a, b");
        assert_eq!(
            list(["a", "b", "c", "d"].iter().copied(), 2),
            "a, b, ... (2 more)"
        );
    }
}
