//! The Redis broker against a real `redis-server` of each test's own, through its failures:
//!
//! - Redis down: a publish fails to its caller, a subscribe closes with 1013, and once Redis is
//!   back (with its data) numbering goes on where it was: the failed publish took no `seq`.
//! - Redis restarted without its data: live subscribers are told `resync_required` at once,
//!   without waiting for an event; the topic goes on in a new epoch; a client resuming with
//!   `since` from the old one is told to resync too.
//! - The pub/sub connection killed while events flow: the node repairs the topic from its log,
//!   and the subscriber gets every event once, in order, with no resync.
//! - A publish whose answer comes too late (Redis paused) fails as `Uncertain`: it was made,
//!   once.
#![cfg(feature = "redis")]

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tether_server::broker::redis::{RedisBroker, RedisConfig};
use tether_server::broker::BrokerError;
use tether_server::{PublishError, Topic};
use tether_wire::control::Control;
use tether_wire::control::Subscribe;
use tether_wire::Envelope;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

mod support;

use support::join::{serve, subscribe_and_read, Steady};
use support::redis_server::{command, RedisServer};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn broker(redis: &RedisServer) -> Arc<RedisBroker> {
    let config = RedisConfig {
        timeout: Duration::from_millis(500),
        ping_interval: Duration::from_millis(500),
        ..RedisConfig::new(redis.url(), &tether_server::Limits::default())
    };
    Arc::new(RedisBroker::new(config).expect("a redis URL"))
}

/// A connection with tether's extensions that sent a subscribe to `topic`.
async fn subscribe(addr: &str, topic: &Topic, since: Option<u64>) -> Ws {
    let url = format!("ws://{addr}/ws?tether=1");
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connects");
    let request = Subscribe {
        topics: vec![topic.clone()],
        message_id: Some("s1".into()),
        since: since.map(|s| [(topic.clone(), s)].into_iter().collect()),
    };
    let frame = Control::Subscribe(request).to_envelope().encode();
    ws.send(Message::text(frame)).await.expect("sends");
    ws
}

/// What a connection is sent, as far as these tests care.
#[derive(Debug, PartialEq)]
enum Got {
    Ack(u64),
    Event(u64),
    Resync(Option<u64>),
    Closed(u16),
    Quiet,
}

/// The next frame that is not a ping, or `Quiet` after `wait`.
async fn next(ws: &mut Ws, wait: Duration) -> Got {
    loop {
        let Ok(frame) = tokio::time::timeout(wait, ws.next()).await else {
            return Got::Quiet;
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                return Got::Closed(close.map_or(0, |c| c.code.into()))
            }
            Some(Ok(_)) => continue,
            other => panic!("the socket failed: {other:?}"),
        };
        let envelope = Envelope::decode(&text).expect("an envelope");
        match Control::parse(&envelope) {
            Some(Ok(Control::SubscribeAck(ack))) => {
                return Got::Ack(ack.seqs.values().copied().next().unwrap_or(0))
            }
            Some(Ok(Control::ResyncRequired(r))) => return Got::Resync(r.seq),
            Some(Ok(Control::Ping(_))) => {}
            Some(other) => panic!("unexpected {other:?}"),
            None => return Got::Event(envelope.seq.expect("numbered")),
        }
    }
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_a_publish_fails_and_a_subscribe_closes_with_1013() {
    let mut redis = RedisServer::start();
    let (server, addr) = serve(broker(&redis)).await;
    let publisher = server.publisher();
    let topic = Topic::new("t:1");
    let first = publisher.publish(&topic, "e", &1).await.expect("up");
    assert_eq!(first.seq(), 1);

    assert_eq!(command(redis.port, &["SAVE"]).as_deref(), Some("+OK"));
    assert!(redis.kill(), "redis was running, and is killed");
    let failed = publisher.publish(&topic, "e", &2).await;
    assert!(
        matches!(
            failed,
            Err(PublishError::Broker(
                BrokerError::Unavailable(_) | BrokerError::Uncertain(_)
            ))
        ),
        "{failed:?}"
    );
    let mut ws = subscribe(&addr, &Topic::new("t:2"), None).await;
    assert_eq!(next(&mut ws, WAIT).await, Got::Closed(1013));

    assert!(redis.start_again(), "redis answers again, with its data");
    let back = publisher.publish(&topic, "e", &3).await.expect("up again");
    assert_eq!(
        (back.seq(), back.epoch()),
        (2, first.epoch()),
        "numbering goes on: the failed publish took no seq"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_without_its_data_makes_subscribers_resync_at_once_in_a_new_epoch() {
    let mut redis = RedisServer::start();
    let (server, addr) = serve(broker(&redis)).await;
    let publisher = server.publisher();
    let topic = Topic::new("t:1");
    let mut ws = subscribe(&addr, &topic, None).await;
    assert_eq!(next(&mut ws, WAIT).await, Got::Ack(0));
    let mut old = None;
    for n in 1..=5 {
        old = Some(publisher.publish(&topic, "e", &n).await.expect("up"));
        assert_eq!(next(&mut ws, WAIT).await, Got::Event(n));
    }

    assert!(redis.restart(false), "redis restarted, its data lost");
    assert_eq!(
        next(&mut ws, WAIT).await,
        Got::Resync(Some(0)),
        "told at once, with no event published since"
    );
    let new = publisher.publish(&topic, "e", &6).await.expect("up again");
    assert_eq!(new.seq(), 1);
    assert_ne!(
        Some(new.epoch()),
        old.as_ref().map(|p| p.epoch()),
        "a new epoch"
    );
    assert_eq!(next(&mut ws, WAIT).await, Got::Event(1), "no second resync");

    let mut resuming = subscribe(&addr, &topic, Some(5)).await;
    assert_eq!(next(&mut resuming, WAIT).await, Got::Ack(1));
    assert_eq!(next(&mut resuming, WAIT).await, Got::Resync(Some(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_pubsub_connection_is_repaired_from_the_log_with_no_gap_and_no_resync() {
    let redis = RedisServer::start();
    let broker = broker(&redis);
    let (server, addr) = serve(broker.clone()).await;
    let topic = Topic::new("t:1");
    let steady = Steady::start(&server, &topic);
    let (stop, so_far) = (steady.stopper(), steady.so_far());
    let port = redis.port;
    // A kill takes effect as a repair only when an event was published while the node was
    // resubscribing, which a fast reconnect can miss: kill again until one did (or fail).
    let node = broker.clone();
    let killer = tokio::spawn(async move {
        let mut killed = 0;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(75)).await;
            let answer = command(port, &["CLIENT", "KILL", "TYPE", "pubsub"]);
            killed += answer
                .and_then(|a| a.trim_start_matches(':').parse::<u64>().ok())
                .unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(50)).await;
            let enough = so_far.lock().expect("not poisoned").len() >= 250;
            if killed >= 2 && node.counters().repaired > 0 && enough {
                break;
            }
        }
        stop.stop();
        killed
    });
    // subscribe_and_read fails on any resync_required; it reads until it has the last event
    // published before the killer stopped the publisher.
    let read = subscribe_and_read(&addr, &topic, None, &steady, None).await;
    let killed = killer.await.expect("the killer ran");
    let want = read.after(read.acked);
    let counters = broker.counters();
    assert!(killed >= 2, "pub/sub connections killed: {killed}");
    assert!(
        counters.disconnections >= 2 && counters.repaired > 0,
        "the node noticed and repaired: {counters:?}"
    );
    assert!(want.len() >= 200, "{} published after the ack", want.len());
    assert_eq!(
        read.got, want,
        "once each, in order, from the acknowledged seq"
    );
}

#[cfg(feature = "faults")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_servers_lose_history_fault_forgets_every_topic_on_redis() {
    let redis = RedisServer::start();
    let (server, _) = serve(broker(&redis)).await;
    let publisher = server.publisher();
    let (a, b) = (Topic::new("t:a"), Topic::new("t:b"));
    let mut before = None;
    for topic in [&a, &b, &a] {
        before = Some(publisher.publish(topic, "e", &0).await.expect("up"));
    }
    let lost = server.faults().lose_history().await.expect("redis up");
    assert_eq!(lost, 2, "two topics had a stream");
    let after = publisher.publish(&a, "e", &1).await.expect("up");
    assert_eq!(after.seq(), 1, "numbering starts again");
    assert_ne!(Some(after.epoch()), before.as_ref().map(|p| p.epoch()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_whose_answer_is_lost_is_uncertain_and_published_once_or_not_at_all() {
    let redis = RedisServer::start();
    let (server, addr) = serve(broker(&redis)).await;
    let publisher = server.publisher();
    let topic = Topic::new("t:1");
    let mut ws = subscribe(&addr, &topic, None).await;
    assert_eq!(next(&mut ws, WAIT).await, Got::Ack(0));
    assert_eq!(
        publisher.publish(&topic, "e", &1).await.expect("up").seq(),
        1
    );

    // Redis holds every write for 1.5 s: the publish goes out, and its answer comes after
    // the broker's 500 ms timeout.
    let paused = command(redis.port, &["CLIENT", "PAUSE", "1500", "WRITE"]);
    assert_eq!(paused.as_deref(), Some("+OK"));
    let lost = publisher.publish(&topic, "e", &2).await;
    assert!(
        matches!(lost, Err(PublishError::Broker(BrokerError::Uncertain(_)))),
        "{lost:?}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = publisher.publish(&topic, "e", &3).await.expect("up again");
    assert_eq!(after.seq(), 3, "the uncertain publish was made, once");
    let got = [
        next(&mut ws, WAIT).await,
        next(&mut ws, WAIT).await,
        next(&mut ws, WAIT).await,
    ];
    assert_eq!(got, [Got::Event(1), Got::Event(2), Got::Event(3)]);
    assert_eq!(
        next(&mut ws, Duration::from_millis(300)).await,
        Got::Quiet,
        "no repeat"
    );
}
