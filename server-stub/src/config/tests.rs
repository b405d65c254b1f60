//! The configuration's defaults and parsing.
use super::*;

#[test]
fn cli_defaults_match_default() {
    let parsed = Config::try_parse_from(["server-stub"]).expect("no arguments parse");
    let default = Config::default();
    assert_eq!(parsed.port, default.port);
    assert_eq!(parsed.ping_interval_ms, default.ping_interval_ms);
    assert_eq!(parsed.idle_timeout_ms, default.idle_timeout_ms);
    assert_eq!(parsed.replay_capacity, default.replay_capacity);
    assert_eq!(parsed.max_subscriptions, default.max_subscriptions);
    assert_eq!(parsed.queue_capacity, default.queue_capacity);
    assert_eq!(parsed.max_frame_bytes, default.max_frame_bytes);
    assert_eq!(parsed.rate_burst, default.rate_burst);
    assert_eq!(parsed.rate_per_sec, default.rate_per_sec);
    assert_eq!(parsed.static_dir, default.static_dir);
    assert_eq!(parsed.profile, default.profile);
    assert_eq!(parsed.queue_bytes, default.queue_bytes);
    assert_eq!(parsed.write_timeout_ms, default.write_timeout_ms);
    assert_eq!(parsed.read_buffer_bytes, default.read_buffer_bytes);
    assert_eq!(parsed.write_buffer_bytes, default.write_buffer_bytes);
    assert_eq!(
        parsed.max_topics_per_subscribe,
        default.max_topics_per_subscribe
    );
    assert_eq!(
        parsed.max_errors_per_subscribe,
        default.max_errors_per_subscribe
    );
    assert_eq!(parsed.max_id_bytes, default.max_id_bytes);
    assert_eq!(parsed.replay_topic_bytes, default.replay_topic_bytes);
    assert_eq!(parsed.replay_total_bytes, default.replay_total_bytes);
    assert_eq!(parsed.max_name_bytes, default.max_name_bytes);
    assert_eq!(parsed.max_content_bytes, default.max_content_bytes);
    assert_eq!(parsed.max_body_bytes, default.max_body_bytes);
    assert_eq!(
        parsed.header_read_timeout_ms,
        default.header_read_timeout_ms
    );
    assert_eq!(parsed.request_timeout_ms, default.request_timeout_ms);
    assert_eq!(parsed.max_connections, default.max_connections);
    assert_eq!(parsed.shutdown_grace_ms, default.shutdown_grace_ms);
    assert_eq!(parsed.replay_topics, default.replay_topics);
    assert_eq!(parsed.redis_url, default.redis_url);
    assert_eq!(parsed.redis_prefix, default.redis_prefix);
    assert_eq!(parsed.http_write_timeout_ms, default.http_write_timeout_ms);
    assert_eq!(parsed.max_header_bytes, default.max_header_bytes);
    assert_eq!(parsed.max_http_connections, default.max_http_connections);
    assert_eq!(
        parsed.max_http_connections_per_ip,
        default.max_http_connections_per_ip
    );
    assert_eq!(
        parsed.max_connections_per_user,
        default.max_connections_per_user
    );
    assert_eq!(parsed.max_records_per_user, default.max_records_per_user);
    assert_eq!(
        parsed.max_stored_bytes_per_user,
        default.max_stored_bytes_per_user
    );
    assert_eq!(parsed.max_runs_per_user, default.max_runs_per_user);
    assert_eq!(parsed.max_page_items, default.max_page_items);
    assert_eq!(parsed.max_page_bytes, default.max_page_bytes);
    assert_eq!(parsed.limits(), default.limits());
}

#[test]
fn the_default_flags_are_the_librarys_default_limits() {
    assert_eq!(Config::default().limits(), Limits::default());
}

#[test]
fn a_secret_is_required_without_dev() {
    let mut c = Config::default();
    assert!(c.secret().is_err(), "no secret");
    c.jwt_secret = Some(DEV_JWT_SECRET.into());
    assert!(c.secret().is_err(), "the public secret");
    c.jwt_secret = Some("short".into());
    assert!(c.secret().is_err(), "a short secret");
    c.jwt_secret = Some("s".repeat(MIN_SECRET_BYTES));
    assert_eq!(c.secret().ok(), c.jwt_secret);
    c.jwt_secret = None;
    c.dev = true;
    assert_eq!(c.secret().ok().as_deref(), Some(DEV_JWT_SECRET));
}

#[test]
fn origins_repeat() {
    let c = Config::try_parse_from([
        "server-stub",
        "--allowed-origin",
        "https://a.example",
        "--allowed-origin",
        "https://b.example",
        "--port",
        "0",
    ])
    .expect("valid arguments");
    assert_eq!(
        c.allowed_origins,
        ["https://a.example", "https://b.example"]
    );
    assert_eq!(c.port, 0);
    let origin =
        Config::try_parse_from(["server-stub", "--profile", "origin"]).expect("valid arguments");
    assert_eq!(origin.profile, Profile::Origin);
    assert!(Config::try_parse_from(["server-stub", "--profile", "other"]).is_err());
}
