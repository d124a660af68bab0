//! One page of a list, as every list endpoint answers.

use serde::Serialize;
use utoipa::ToSchema;

/// A page of a list, as every list endpoint answers.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
