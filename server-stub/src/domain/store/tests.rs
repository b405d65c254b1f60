//! The store's own tests: seeding, deletion, pages and quotas.
use super::*;

fn ids<T>(records: &[T], id: impl Fn(&T) -> u64) -> Vec<u64> {
    records.iter().map(id).collect()
}

#[test]
fn seed_has_agents_for_two_users() {
    let store = Store::seeded(5, Quota::UNLIMITED);
    assert_eq!(ids(&store.agents_page(1, None, 10), |a| a.id), [1, 3]);
    assert_eq!(ids(&store.agents_page(2, None, 10), |a| a.id), [2]);
    assert_eq!(store.threads_page(1, None, None, 10).len(), 2);
    assert_eq!(store.messages_page(10, 0, (10, 1000)).messages.len(), 1);
    assert_eq!(store.usage(1).records, 6, "2 agents, 2 threads, 2 messages");
}

#[test]
fn deleting_an_agent_deletes_its_threads_and_frees_their_quota() {
    let mut store = Store::seeded(5, Quota::UNLIMITED);
    let before = store.usage(1);
    let deleted = store.delete_agent(1).expect("exists");
    assert_eq!(deleted.thread_ids, [10]);
    assert!(store.thread(10).is_none());
    assert!(store.messages_page(10, 0, (10, 1000)).messages.is_empty());
    assert!(store.add_message(10, "user", "x".into(), 6).is_err());
    assert_eq!(store.usage(1).records, before.records - 3);
    assert_eq!(ids(&store.threads_page(1, None, None, 10), |t| t.id), [12]);
}

#[test]
fn pages_follow_their_cursor_and_stop_at_their_bounds() {
    let mut store = Store::seeded(5, Quota::UNLIMITED);
    let made: Vec<u64> = (0..5)
        .map(|n| {
            store
                .create_agent(7, format!("a{n}"), 6)
                .expect("created")
                .id
        })
        .collect();
    let first = store.agents_page(7, None, 2);
    let second = store.agents_page(7, first.last().map(|a| a.id), 10);
    let all: Vec<u64> = first.iter().chain(&second).map(|a| a.id).collect();
    assert_eq!(all, made);
    assert!(
        store.agents_page(8, None, 10).is_empty(),
        "another user has none"
    );
    let thread = store.create_thread(made[0], "t".into(), 6).expect("made");
    for n in 0..5 {
        let content = "m".repeat(100 + n);
        store
            .add_message(thread.id, "user", content, 6)
            .expect("added");
    }
    let page = |after, limits| {
        let page = store.messages_page(thread.id, after, limits);
        (page.messages.len(), page.next)
    };
    assert_eq!(page(0, (10, 250)), (2, Some(2)), "250 bytes: 2 messages");
    assert_eq!(page(2, (2, 1000)), (2, Some(4)), "2 items");
    assert_eq!(page(4, (10, 50)), (1, None), "at least one");
}

#[test]
fn records_past_the_quota_are_refused_and_deleting_gives_room_back() {
    let quota = Quota {
        records: 3,
        bytes: 20,
    };
    let mut store = Store::seeded(5, quota);
    let agent = store.create_agent(9, "agent".into(), 6).expect("1 record");
    let thread = store
        .create_thread(agent.id, "t".into(), 6)
        .expect("2 records");
    let long = "x".repeat(15);
    assert_eq!(
        store
            .add_message(thread.id, "user", long.clone(), 6)
            .map(|_| ()),
        Err(Denial::Limit(
            "a user stores at most 20 bytes of text".into()
        ))
    );
    store
        .add_message(thread.id, "user", "hi".into(), 6)
        .expect("3 records");
    assert!(store.create_agent(9, "b".into(), 6).is_err(), "4 records");
    assert!(store
        .update_agent(agent.id, Some("y".repeat(18)), None, 6)
        .is_err());
    assert!(store
        .update_agent(agent.id, Some("y".repeat(17)), None, 6)
        .is_ok());
    store.delete_thread(thread.id);
    assert_eq!(
        store.usage(9),
        Usage {
            records: 1,
            bytes: 17
        }
    );
    assert!(store.create_agent(9, "b".into(), 6).is_ok());
}
