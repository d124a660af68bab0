#![allow(clippy::unwrap_used)]
//! Tests of the security detectors: the shipped corpora line by line, checksum vectors, masking, bounds,
//! bulk negatives and property tests.

mod checks;
mod corpus;
mod props;
