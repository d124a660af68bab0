//! Secrets as a type: redacted when printed, wiped when dropped, never serialised.

use std::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// A secret string (provider key, API key).
///
/// Wrapping the string keeps it out of logs and error messages by accident
/// (Debug and Display print `[REDACTED]`) and wipes it from memory when the
/// last copy is dropped. It can be deserialized so request bodies can carry it,
/// but deliberately cannot be serialized, so it never ends up in a response.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Takes ownership so the only copy is the one that will be zeroized.
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    /// Named loudly so every place that handles the plaintext is easy to grep.
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::new(s.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}
