//! One module per subcommand area.

pub mod labels;
