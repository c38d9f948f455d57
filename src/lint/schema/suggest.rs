//! "Did you mean ...?" for misspelt field names and enum values.

/// Levenshtein distance over characters (insert, delete, substitute).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
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
/// first, else the nearest within a small edit budget (first one on ties).
pub(crate) fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str> + Clone) -> Option<&'a str> {
    if let Some(same) = candidates.clone().find(|c| c.eq_ignore_ascii_case(word)) {
        return Some(same);
    }
    let limit = budget(word.chars().count());
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let d = edit_distance(word, candidate);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
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
        assert_eq!(edit_distance("consecutive5xxError", "consecutive5xxErrors"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn suggests_the_nearest_within_budget() {
        let props = ["consecutive5xxErrors", "consecutiveErrors", "consecutiveGatewayErrors", "interval"];
        assert_eq!(closest("consecutive5xxError", props.iter().copied()), Some("consecutive5xxErrors"));
        assert_eq!(closest("Interval", props.iter().copied()), Some("interval"));
        assert_eq!(closest("baseEjectionTime", props.iter().copied()), None);
        // Short words allow a single edit only.
        assert_eq!(closest("tls", ["to", "tcp"].iter().copied()), None);
        assert_eq!(closest("tlz", ["to", "tls"].iter().copied()), Some("tls"));
    }

    #[test]
    fn lists_are_truncated() {
        assert_eq!(list(["a", "b"].iter().copied(), 5), "a, b");
        assert_eq!(list(["a", "b", "c", "d"].iter().copied(), 2), "a, b, ... (2 more)");
    }
}
