//! The stub's own records of agents, threads, messages, runs and streamed chunks. They are the
//! server's truth, with every field it knows (an agent always has an owner); the `wire`
//! module turns them into the data of events and REST answers, in the shape of a profile.
//! Times are milliseconds since the Unix epoch.

/// An agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRecord {
    /// Its id, as in `agent:{id}`.
    pub id: u64,
    /// The user who owns it.
    pub owner_id: u64,
    /// Display name.
    pub name: String,
    /// `idle`, `running`, `error`, …: a free string.
    pub status: String,
    /// What it does.
    pub description: Option<String>,
    /// The last run's error.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: u64,
    /// When it last changed.
    pub updated_at: u64,
    /// When its last run started.
    pub last_run_at: Option<u64>,
    /// Its latest run, as its latest `run_update` reported it.
    pub last_run: Option<RunRecord>,
}

/// Which fields of an agent an `agent_updated` announces. The tether profile always sends the
/// whole agent; the origin profile sends the id and these fields only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentChange {
    /// The name changed.
    pub name: bool,
    /// The status changed.
    pub status: bool,
    /// A run started.
    pub last_run_at: bool,
    /// The last error changed.
    pub last_error: bool,
}

impl AgentChange {
    /// Only the status changed.
    pub const STATUS: AgentChange = AgentChange {
        name: false,
        status: true,
        last_run_at: false,
        last_error: false,
    };
}

/// A chat thread of an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadRecord {
    /// Its id, as in `thread:{id}`.
    pub id: u64,
    /// The agent it talks to.
    pub agent_id: u64,
    /// Display title.
    pub title: String,
    /// When it was created.
    pub created_at: u64,
    /// When it last changed.
    pub updated_at: u64,
}

/// One chat message of a thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    /// Its id, unique per server.
    pub id: u64,
    /// The thread it belongs to.
    pub thread_id: u64,
    /// `user`, `assistant`, `system` or `tool`.
    pub role: String,
    /// The text.
    pub content: String,
    /// When it was stored.
    pub created_at: u64,
}

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Accepted, not started.
    Queued,
    /// Started.
    Running,
    /// Finished well.
    Success,
    /// Finished badly.
    Failed,
}

impl RunStatus {
    /// The wire name: `queued`, `running`, `success` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Success => "success",
            RunStatus::Failed => "failed",
        }
    }
}

/// What started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// A user asked (`POST /api/agents/{id}/run`).
    Manual,
    /// A schedule (the simulator).
    Schedule,
    /// Another program.
    Api,
}

impl Trigger {
    /// The wire name: `manual`, `schedule` or `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Schedule => "schedule",
            Trigger::Api => "api",
        }
    }
}

/// One run of an agent, as its `run_update`s report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    /// The run's id, unique per server.
    pub id: u64,
    /// The agent that runs.
    pub agent_id: u64,
    /// The thread it writes to, if any.
    pub thread_id: Option<u64>,
    /// Where it stands.
    pub status: RunStatus,
    /// Progress in percent.
    pub progress: u8,
    /// What started it.
    pub trigger: Trigger,
    /// When it started running.
    pub started_at: Option<u64>,
    /// When it finished.
    pub finished_at: Option<u64>,
    /// Why it failed.
    pub error: Option<String>,
}

impl RunRecord {
    /// How long it ran, once finished.
    pub fn duration_ms(&self) -> Option<u64> {
        Some(self.finished_at?.saturating_sub(self.started_at?))
    }
}

/// One piece of a streamed assistant reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkRecord {
    /// The thread being answered.
    pub thread_id: u64,
    /// The reply's message id, when known.
    pub message_id: Option<u64>,
    /// `assistant_token`, `assistant_message` or `tool_output`.
    pub chunk_type: String,
    /// The text of this piece.
    pub content: String,
}
