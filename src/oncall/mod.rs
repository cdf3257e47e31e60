//! On call: who is on call (the rotation and overrides), overrides' SQL, `/platform oncall`.

pub mod command;
pub mod current;
pub mod db;
pub mod handler;
pub mod paging;
pub mod rotation;
