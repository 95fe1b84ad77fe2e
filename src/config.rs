//! Configuration: the admin's and the user's TOML files, merged into the relay and compose
//! settings envoi runs with. (Filled in by the relay work, issue 3.)
