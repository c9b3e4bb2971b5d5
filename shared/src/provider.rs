//! Provider rules in one table: everything that differs between GitHub.com, GitHub
//! Enterprise Server and GitLab is a row here; the pipeline reads it and knows no provider.

/// A source host whose deliveries one function accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    GitHub,
    GitHubEnterprise,
    GitLab,
}

/// How a delivery proves it is authentic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
    HubSignature256,
    /// `X-Gitlab-Token: <shared secret>`.
    GitlabToken,
}

/// Which headers name the secret record to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// `{X-GitHub-Hook-Installation-Target-Type}/{X-GitHub-Hook-Installation-Target-ID}`.
    InstallationTarget,
    /// The `X-GitHub-Enterprise-Host` value, lowercased.
    EnterpriseHost,
    /// `token/{hex SHA-256 of X-Gitlab-Token}`.
    TokenDigest,
}

/// What to do with an `application/x-www-form-urlencoded` delivery (`payload=<JSON>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormBodies {
    /// Verify the raw form body, then forward the decoded `payload` field.
    Decode,
    /// Answer 415 with this message (after verification).
    Refuse(&'static str),
    /// The provider only sends JSON; the content type is not consulted.
    Never,
}

/// An event that is forwarded only when a payload field has a given value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Condition {
    pub event: &'static str,
    /// JSON pointer into the payload.
    pub pointer: &'static str,
    pub equals: &'static str,
}

/// One provider's row.
#[derive(Debug)]
pub struct Rules {
    /// Name used in secret ids, envelopes, logs and message attributes.
    pub name: &'static str,
    /// API Gateway route of the function.
    pub route: &'static str,
    pub auth: Auth,
    pub routing: Routing,
    pub event_header: &'static str,
    pub form_bodies: FormBodies,
    /// Headers holding the delivery id, first present wins.
    pub delivery_id_headers: &'static [&'static str],
    /// Forwarded to the queue unless `FORWARD_EVENTS` says otherwise.
    pub default_events: &'static [&'static str],
    /// The event answered with `pong` after verification.
    pub ping_event: Option<&'static str>,
    /// Extra conditions some events must meet to be forwarded.
    pub conditions: &'static [Condition],
    /// JSON pointers into the payload for the envelope.
    pub repository_pointer: &'static str,
    pub action_pointer: &'static str,
    pub installation_pointer: Option<&'static str>,
    /// Whether the enterprise host header goes into the envelope.
    pub records_enterprise_host: bool,
}

pub const HUB_SIGNATURE_256: &str = "x-hub-signature-256";
pub const HUB_SIGNATURE_SHA1: &str = "x-hub-signature";
pub const GITLAB_TOKEN: &str = "x-gitlab-token";
pub const TARGET_TYPE: &str = "x-github-hook-installation-target-type";
pub const TARGET_ID: &str = "x-github-hook-installation-target-id";
pub const ENTERPRISE_HOST: &str = "x-github-enterprise-host";

static GITHUB: Rules = Rules {
    name: "github",
    route: "/api/github/webhook",
    auth: Auth::HubSignature256,
    routing: Routing::InstallationTarget,
    event_header: "x-github-event",
    form_bodies: FormBodies::Decode,
    delivery_id_headers: &["x-github-delivery"],
    default_events: &["pull_request", "issue_comment", "push"],
    ping_event: Some("ping"),
    conditions: &[],
    repository_pointer: "/repository/full_name",
    action_pointer: "/action",
    installation_pointer: Some("/installation/id"),
    records_enterprise_host: false,
};

static GITHUB_ENTERPRISE: Rules = Rules {
    name: "github-enterprise",
    route: "/api/github-enterprise/webhook",
    auth: Auth::HubSignature256,
    routing: Routing::EnterpriseHost,
    event_header: "x-github-event",
    form_bodies: FormBodies::Refuse(
        "form-encoded deliveries are not accepted: set the webhook's content type to application/json",
    ),
    delivery_id_headers: &["x-github-delivery"],
    default_events: &["pull_request", "push"],
    ping_event: Some("ping"),
    conditions: &[],
    repository_pointer: "/repository/full_name",
    action_pointer: "/action",
    installation_pointer: Some("/installation/id"),
    records_enterprise_host: true,
};

static GITLAB: Rules = Rules {
    name: "gitlab",
    route: "/api/gitlab/webhook",
    auth: Auth::GitlabToken,
    routing: Routing::TokenDigest,
    event_header: "x-gitlab-event",
    form_bodies: FormBodies::Never,
    // `webhook-id` is sent with signing tokens (Standard Webhooks).
    delivery_id_headers: &["webhook-id", "idempotency-key", "x-gitlab-event-uuid"],
    default_events: &["Merge Request Hook", "Push Hook", "Note Hook", "Vulnerability Hook"],
    ping_event: None,
    // Only comments on merge requests matter to PR scanning.
    conditions: &[Condition {
        event: "Note Hook",
        pointer: "/object_attributes/noteable_type",
        equals: "MergeRequest",
    }],
    repository_pointer: "/project/path_with_namespace",
    action_pointer: "/object_attributes/action",
    installation_pointer: None,
    records_enterprise_host: false,
};

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::GitHub, Provider::GitHubEnterprise, Provider::GitLab];

    pub fn rules(self) -> &'static Rules {
        match self {
            Provider::GitHub => &GITHUB,
            Provider::GitHubEnterprise => &GITHUB_ENTERPRISE,
            Provider::GitLab => &GITLAB,
        }
    }

    pub fn name(self) -> &'static str {
        self.rules().name
    }

    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Rules {
    /// The condition an event must meet beyond being in the forwarded list, if any.
    pub fn condition(&self, event: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.event == event)
    }
}
