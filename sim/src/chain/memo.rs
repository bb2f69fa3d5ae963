//! A one-entry memo for pure functions of chain state that the per-block step asks for
//! repeatedly with unchanged inputs (a pool's spot price, a subnet's root proportion).
//!
//! The memo holds the last key and value. It is transparent: the value is always what the
//! function gives for the key, so it never changes a result, and two states that differ only
//! in their memos are equal (its `PartialEq` ignores it) and serialise the same (it is skipped).

use std::cell::Cell;

/// The last `(key, value)` of a pure function. See the module docs.
#[derive(Clone, Default)]
pub struct Memo<K: Copy, V: Copy>(Cell<Option<(K, V)>>);

impl<K: Copy + Eq, V: Copy> Memo<K, V> {
    /// The value for `key`: the memo's if it holds that key, else `compute()` (remembered).
    /// `compute` must be a pure function of `key`.
    pub fn get_or(&self, key: K, compute: impl FnOnce() -> V) -> V {
        if let Some((k, v)) = self.0.get()
            && k == key
        {
            return v;
        }
        let v = compute();
        self.0.set(Some((key, v)));
        v
    }
}

impl<K: Copy, V: Copy> PartialEq for Memo<K, V> {
    /// Memos never make two states differ.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<K: Copy, V: Copy> Eq for Memo<K, V> {}

impl<K: Copy, V: Copy> std::fmt::Debug for Memo<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_once_per_key_and_recomputes_on_a_new_key() {
        let memo: Memo<u64, u64> = Memo::default();
        let calls = Cell::new(0);
        let square = |k: u64| {
            calls.set(calls.get() + 1);
            k * k
        };
        assert_eq!(memo.get_or(3, || square(3)), 9);
        assert_eq!(memo.get_or(3, || square(3)), 9);
        assert_eq!(calls.get(), 1);
        assert_eq!(memo.get_or(4, || square(4)), 16);
        assert_eq!(memo.get_or(3, || square(3)), 9);
        assert_eq!(calls.get(), 3);
    }
}
