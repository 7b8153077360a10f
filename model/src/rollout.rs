//! A rollout's step, as expansion hands it to a component body and the
//! rollout engine (in the planner) chooses it.

/// One step of a rollout as a component body sees it (`self.rollout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RolloutStep {
    /// The share of requests the new version receives, 0 to 100
    /// (`self.rollout.weight`).
    pub weight: u32,
    /// How many replicas of the new version run beside the stable ones
    /// (`self.rollout.canary`).
    pub canary: u64,
}
