//! The few things the executor needs from the outside world. The AWS adapters implement them
//! for real; tests implement them with in-memory state.

mod checks;
mod clock;
mod ecs;
mod lock_store;
pub mod log;
mod registry;
mod reporting;
mod scaling;
mod traffic;

pub use checks::*;
pub use clock::*;
pub use ecs::*;
pub use lock_store::*;
pub use registry::*;
pub use reporting::*;
pub use scaling::*;
pub use traffic::*;
