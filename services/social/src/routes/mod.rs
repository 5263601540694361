//! Handlers, one module per URL area: the graph (`/follow`, `/block`, `/blocked`, …),
//! profiles (`/u/{handle}…`), `/report`, and `/admin/*`.

pub mod admin;
pub mod graph;
pub mod profiles;
pub mod reports;
