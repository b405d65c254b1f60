//! `Vec` edits without their panic paths. `Vec::remove` and `Vec::insert` panic with a message
//! that formats the index and the length, which links Rust's formatting machinery (about 1 KB
//! gzip) into a release build; these check the index first, so the compiler drops that path.

/// `Vec::remove` without its panic path (whose message would link Rust's formatting):
/// `None` past the end.
pub(crate) fn remove_at<T>(items: &mut Vec<T>, index: usize) -> Option<T> {
    (index < items.len()).then(|| items.remove(index))
}

/// `Vec::insert` without its panic path: past the end, the item goes last.
pub(crate) fn insert_at<T>(items: &mut Vec<T>, index: usize, item: T) {
    let index = index.min(items.len());
    items.insert(index, item);
}
