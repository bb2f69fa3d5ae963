//! The economy around the chain (being gathered here): the TAO/USD venue and its fair value.
pub mod fair_value;
pub mod venue;
