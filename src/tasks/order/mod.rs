//! Manual order and subtasks: positions as fractional indexes ([`position`]), the rules of a
//! move and of the task tree ([`tree`]), the move and clear-completed operations ([`moves`]),
//! the batched reads behind GraphQL's nested fields ([`nested`]), and their SQL (`store`: a
//! group of siblings, a task's children and subtree, a placement; `group_end`: where a group
//! ends).

pub(in crate::tasks) mod group_end;
pub(in crate::tasks) mod moves;
pub(in crate::tasks) mod nested;
pub mod position;
pub(in crate::tasks) mod store;
pub(in crate::tasks) mod tree;
