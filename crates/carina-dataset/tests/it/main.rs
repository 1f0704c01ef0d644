//! Integration tests of carina-dataset: one module per area.

mod common;
mod export;
mod import_coco;
mod import_nih;
mod import_vindr;
mod merge;
mod prepare;
