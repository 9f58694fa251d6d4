//! Unit tests for the round state machine.
