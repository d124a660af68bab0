//! The linear chunk pass: cuts the text into alphanumeric runs joined by `-` `.` `/` (and by single spaces
//! between digits), and hands each chunk with enough digits to the shape classifiers in [`super::ids`].

use super::Raw;

/// Chunks longer than this are hashes, base64 or tables, not one identifier; they are skipped whole.
pub(crate) const MAX_CHUNK_BYTES: usize = 48;
/// Chunks with fewer digits cannot hold any entity classified here (an IPv4 address has at least 4).
const MIN_CHUNK_DIGITS: usize = 4;
/// Groups (runs between separators) a chunk keeps track of; more means it is not an identifier.
pub(crate) const MAX_GROUPS: usize = 8;

/// One candidate: its span, its groups and separators, its digits.
pub(crate) struct Chunk<'t> {
    pub text: &'t str,
    pub start: usize,
    pub end: usize,
    /// Byte length of each group.
    pub groups: [u8; MAX_GROUPS],
    pub n_groups: usize,
    /// Separator after each group but the last.
    pub seps: [u8; MAX_GROUPS],
    pub digits: [u8; MAX_CHUNK_BYTES],
    pub n_digits: usize,
    pub letters: usize,
    /// The whole text, for context look-ups before `start`.
    pub source: &'t str,
}

impl Chunk<'_> {
    pub(super) fn digits(&self) -> &[u8] {
        &self.digits[..self.n_digits]
    }
    pub(super) fn groups(&self) -> &[u8] {
        &self.groups[..self.n_groups]
    }
    pub(super) fn seps(&self) -> &[u8] {
        &self.seps[..self.n_groups.saturating_sub(1)]
    }
    /// Whether all separators are `sep` (true for a single group).
    pub(super) fn seps_all(&self, sep: u8) -> bool {
        self.seps().iter().all(|&s| s == sep)
    }
    /// Group lengths equal `shape` exactly.
    pub(super) fn shape(&self, shape: &[u8]) -> bool {
        self.groups() == shape
    }
    pub(super) fn numeric(&self) -> bool {
        self.letters == 0
    }
    /// Chunk bytes without separators (upper-cased letters).
    pub(super) fn compact(&self) -> Vec<u8> {
        self.text.bytes().filter(u8::is_ascii_alphanumeric).map(|b| b.to_ascii_uppercase()).collect()
    }
}

fn is_sep(b: u8) -> bool {
    matches!(b, b'-' | b'.' | b'/' | b' ')
}

pub(super) fn scan(text: &str, out: &mut Vec<Raw>, classify: impl Fn(&Chunk<'_>) -> Option<Raw>) {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i < n {
        if !b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        // A chunk must start at a token start: not glued to a previous alphanumeric or separator run.
        let start = i;
        let mut groups = [0u8; MAX_GROUPS];
        let mut seps = [0u8; MAX_GROUPS];
        let mut digits = [0u8; MAX_CHUNK_BYTES];
        let (mut n_groups, mut n_digits, mut letters, mut group_len) = (1usize, 0usize, 0usize, 0usize);
        let mut too_long = false;
        let mut j = i;
        loop {
            if j < n && b[j].is_ascii_alphanumeric() {
                if b[j].is_ascii_digit() {
                    if n_digits < MAX_CHUNK_BYTES {
                        digits[n_digits] = b[j];
                    }
                    n_digits += 1;
                } else {
                    letters += 1;
                }
                group_len += 1;
                j += 1;
                continue;
            }
            // At a non-alphanumeric byte: join over one separator when an alphanumeric follows.
            let joinable = j + 1 < n
                && is_sep(b[j])
                && b[j + 1].is_ascii_alphanumeric()
                && (b[j] != b' ' || (b[j - 1].is_ascii_digit() && b[j + 1].is_ascii_digit()));
            if joinable && n_groups < MAX_GROUPS {
                groups[n_groups - 1] = group_len.min(255) as u8;
                seps[n_groups - 1] = b[j];
                n_groups += 1;
                group_len = 0;
                j += 1;
                continue;
            }
            if joinable {
                too_long = true;
                j += 1;
                continue;
            }
            break;
        }
        groups[n_groups - 1] = group_len.min(255) as u8;
        let end = j;
        i = j.max(i + 1);
        if too_long || end - start > MAX_CHUNK_BYTES || n_digits < MIN_CHUNK_DIGITS {
            continue;
        }
        let chunk = Chunk {
            text: &text[start..end],
            start,
            end,
            groups,
            n_groups,
            seps,
            digits,
            n_digits,
            letters,
            source: text,
        };
        if let Some(raw) = classify(&chunk) {
            out.push(raw);
        }
    }
}
