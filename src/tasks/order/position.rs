//! Manual order: positions are fractional indexes (the `fractional_index` crate) in its hex
//! string form, so plain byte order (PostgreSQL's "C" collation, SQLite's BINARY) is list
//! order, and a move writes one row: the moved one, between its new neighbours.
//!
//! Repeated moves to one spot lengthen positions (about one byte per eight moves), as does
//! appending many tasks one after another; a position longer than [`MAX_POSITION_CHARS`] is
//! not written: the group of siblings is renumbered with [`spread`] instead, which gives
//! every sibling a key of one short width, and the move is placed among those.

use fractional_index::FractionalIndex;

/// The longest position the server writes without renumbering the group first. With the
/// move's own key on top (a renumbered group's keys are 12 characters; one between two of
/// them at most 4 more), every stored position is shorter than 100 characters.
pub const MAX_POSITION_CHARS: usize = 48;

/// Keys of [`spread`] are this many bytes (before the crate's terminator byte), this far
/// apart: room for 16 million siblings, and 16 halvings between two neighbours before a key
/// between them needs a longer width.
const SPREAD_BYTES: usize = 5;
const SPREAD_STEP: u64 = 65_536;

/// A position as stored, parsed; `None` for a string the server did not write.
pub fn parse(position: &str) -> Option<FractionalIndex> {
    FractionalIndex::from_string(position).ok()
}

/// The position of a sibling placed between `before` (the one above it, if any) and `after`
/// (the one below, if any): the first in an empty group, after the last, before the first,
/// or between two. `None` when the neighbours are not in order (or not positions the server
/// wrote): the caller renumbers the group and asks again.
pub fn between(above: Option<&str>, below: Option<&str>) -> Option<String> {
    let above = match above {
        Some(p) => Some(parse(p)?),
        None => None,
    };
    let below = match below {
        Some(p) => Some(parse(p)?),
        None => None,
    };
    match (&above, &below) {
        (Some(above), Some(below)) => between_two(above.as_bytes(), below.as_bytes()),
        _ => FractionalIndex::new(above.as_ref(), below.as_ref()).map(|index| index.to_string()),
    }
}

/// A key strictly between two keys, or `None` when they are not in order. The crate's
/// `new_between` computes `below[i] - 1` at every byte the two keys share, which overflows on
/// a shared 0x00 byte (a [`spread`] key starts with some): a panic in debug builds and, in
/// release, a key that is not between them. So the shared prefix (short of the shorter key's
/// terminator) is set aside first, and put back in front of the key found for the rest: byte
/// order is decided after the prefix, and the rest are valid keys (they end with the
/// terminator).
fn between_two(above: &[u8], below: &[u8]) -> Option<String> {
    if above >= below {
        return None;
    }
    let shorter = above.len().min(below.len()) - 1;
    let shared = above
        .iter()
        .zip(below)
        .take(shorter)
        .take_while(|(a, b)| a == b)
        .count();
    let rest = |key: &[u8]| FractionalIndex::from_bytes(key[shared..].to_vec()).ok();
    let middle = FractionalIndex::new_between(&rest(above)?, &rest(below)?)?;
    let mut key = above[..shared].to_vec();
    key.extend_from_slice(middle.as_bytes());
    FractionalIndex::from_bytes(key)
        .ok()
        .map(|index| index.to_string())
}

/// Whether a position is too long to write without renumbering its group first.
pub fn too_long(position: &str) -> bool {
    position.len() > MAX_POSITION_CHARS
}

/// `count` positions in increasing order, evenly spaced and all of one width: what a
/// renumbered group of siblings gets (and what the v3 migration gave existing tasks, in
/// creation order). Each is a valid fractional index (its last byte is the terminator).
pub fn spread(count: usize) -> Vec<String> {
    (1..=count as u64)
        .map(|i| {
            let value = i * SPREAD_STEP;
            let bytes = value.to_be_bytes();
            let mut key: Vec<u8> = bytes[bytes.len() - SPREAD_BYTES..].to_vec();
            key.push(0x80);
            FractionalIndex::from_bytes(key)
                .map(|index| index.to_string())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::tasks::order::position::*;

    #[test]
    fn spread_keys_are_ordered_valid_and_short() {
        let keys = spread(10_000);
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert!(keys.iter().all(|k| parse(k).is_some() && k.len() == 12));
        // As the v3 migrations spell them.
        assert_eq!(keys[0], format!("{:010x}80", 65_536));
    }

    /// Between two renumbered keys (which share leading zero bytes), and on through a run of
    /// halvings from alternate sides: always strictly between, never a panic.
    #[test]
    fn between_spread_keys_and_repeated_halvings() {
        let keys = spread(3);
        let (mut low, mut high) = (keys[0].clone(), keys[1].clone());
        for i in 0..200 {
            let middle = between(Some(&low), Some(&high)).expect("a key between");
            assert!(low < middle && middle < high, "{low} < {middle} < {high}");
            if i % 2 == 0 {
                low = middle;
            } else {
                high = middle;
            }
        }
        let before = between(None, Some(&keys[0])).expect("before the first");
        let after = between(Some(&keys[2]), None).expect("after the last");
        assert!(before < keys[0] && keys[2] < after);
        assert_eq!(between(Some(&keys[1]), Some(&keys[0])), None);
    }

    #[test]
    fn between_orders_and_refuses_disorder() {
        let first = between(None, None).expect("first");
        let after = between(Some(&first), None).expect("after");
        let before = between(None, Some(&first)).expect("before");
        let middle = between(Some(&first), Some(&after)).expect("middle");
        assert!(before < first && first < middle && middle < after);
        assert_eq!(between(Some(&after), Some(&first)), None);
        assert_eq!(between(Some("zz"), None), None);
    }
}
