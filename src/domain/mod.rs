//! The shared vocabulary: the types every layer speaks. This module imports no feature, so anything may import it.

mod code;
mod ids;
mod item;
mod page;
mod provider;
mod route;
mod score;
mod secret;

pub use code::Code;
pub use ids::{new_id, now};
pub use item::{text_of, Item};
pub use page::Page;
pub use provider::Provider;
pub use route::{ModelTarget, ProviderMode};
pub use score::{Samples, Score, ScoreError, Usage};
pub use secret::Secret;
