//! Integration tests: one test binary, one module per area (ripgrep's layout).

mod cli;
mod deps;
mod drafts;
mod golden;
mod props;
mod relay;
