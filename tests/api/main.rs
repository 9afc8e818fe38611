//! The API test suite: every test spawns the real app on a fresh database.

mod asof;
mod auth;
mod batch;
mod catalog;
mod citus;
mod console;
mod contract;
mod faults;
mod growth;
mod console_journey;
mod helpers;
mod import;
mod money_out;
mod openapi;
mod orders;
mod portal;
mod recruiting;
mod replica;
mod reports;
mod schemathesis;
mod settlement;
mod staff;
mod subtrees;
mod tree;
mod upgrades;
mod withdrawals;
