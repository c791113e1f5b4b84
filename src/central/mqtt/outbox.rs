//! The publisher's outgoing messages: a bounded queue that drops the OLDEST message when full
//! (the newest status and events matter most to a dashboard; a gap shows in `seq`), and the
//! messages handed to the MQTT client but not yet acknowledged (QoS 1 PUBACK).
//!
//! A message stays here until the broker has acknowledged it. When the connection is lost, the
//! unacknowledged ones go back to the front of the queue in their order and are sent again on the
//! next connection, before anything newer: so a message is never first delivered after a newer
//! one, and one whose acknowledgement was lost arrives twice (a QoS 1 duplicate, with a `seq` not
//! above the highest the consumer has seen).

use std::collections::VecDeque;

/// The three telemetry topics (`greenwave/<device-id>/<name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    Status,
    Alarm,
    Events,
}

impl Topic {
    pub const fn name(self) -> &'static str {
        match self {
            Topic::Status => "status",
            Topic::Alarm => "alarm",
            Topic::Events => "events",
        }
    }
}

/// One message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub seq: u64,
    pub topic: Topic,
    pub payload: Vec<u8>,
}

/// Counters over the publisher's life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxCounters {
    /// Messages queued.
    pub queued: u64,
    /// Messages handed to the client (resends included).
    pub sent: u64,
    /// Of those, sent again after a lost connection.
    pub resent: u64,
    /// Messages the broker acknowledged.
    pub acked: u64,
    /// Messages dropped because the queue was full (the oldest first).
    pub dropped_oldest: u64,
}

/// Queue + unacknowledged messages.
pub struct Outbox {
    cap: usize,
    queue: VecDeque<Msg>,
    /// Handed to the client, oldest first, with the packet id once the client has sent it.
    inflight: VecDeque<(Msg, Option<u16>)>,
    /// Messages requeued by a lost connection and not yet sent again.
    requeued: usize,
    pub counters: OutboxCounters,
}

impl Outbox {
    /// A queue holding at most `cap` messages besides those in flight.
    pub fn new(cap: usize) -> Outbox {
        Outbox {
            cap: cap.max(1),
            queue: VecDeque::with_capacity(cap.max(1)),
            inflight: VecDeque::new(),
            requeued: 0,
            counters: OutboxCounters::default(),
        }
    }

    /// Queues a message, dropping the oldest when full.
    pub fn push(&mut self, m: Msg) {
        self.counters.queued += 1;
        self.queue.push_back(m);
        self.trim();
    }

    fn trim(&mut self) {
        while self.queue.len() > self.cap {
            let _ = self.queue.pop_front();
            self.requeued = self.requeued.saturating_sub(1);
            self.counters.dropped_oldest += 1;
        }
    }

    /// Messages waiting or unacknowledged.
    pub fn held(&self) -> usize {
        self.queue.len() + self.inflight.len()
    }

    pub fn inflight(&self) -> usize {
        self.inflight.len()
    }

    /// The next message to hand to the client, when fewer than `window` are unacknowledged; it is
    /// then in flight. Call [`Outbox::unsend`] if the client did not take it.
    pub fn next(&mut self, window: usize) -> Option<&Msg> {
        if self.inflight.len() >= window {
            return None;
        }
        let m = self.queue.pop_front()?;
        self.counters.sent += 1;
        if self.requeued > 0 {
            self.requeued -= 1;
            self.counters.resent += 1;
        }
        self.inflight.push_back((m, None));
        self.inflight.back().map(|(m, _)| m)
    }

    /// The client refused the message [`Outbox::next`] gave (its channel was closed): back to the
    /// front of the queue.
    pub fn unsend(&mut self) {
        if let Some((m, _)) = self.inflight.pop_back() {
            self.counters.sent -= 1;
            self.queue.push_front(m);
        }
    }

    /// The client sent the oldest message it had not yet numbered, with packet id `pkid`.
    pub fn published(&mut self, pkid: u16) {
        if let Some(slot) = self.inflight.iter_mut().find(|(_, id)| id.is_none()) {
            slot.1 = Some(pkid);
        }
    }

    /// The broker acknowledged packet `pkid`. False for an id not in flight.
    pub fn acked(&mut self, pkid: u16) -> bool {
        let Some(i) = self.inflight.iter().position(|(_, id)| *id == Some(pkid)) else {
            return false;
        };
        let _ = self.inflight.remove(i);
        self.counters.acked += 1;
        true
    }

    /// The connection was lost: what was not acknowledged goes back to the front of the queue, in
    /// order, to be sent again first (the oldest dropped if that overfills the queue).
    pub fn connection_lost(&mut self) {
        while let Some((m, _)) = self.inflight.pop_back() {
            self.queue.push_front(m);
            self.requeued += 1;
        }
        self.trim();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: u64) -> Msg {
        Msg {
            seq,
            topic: Topic::Status,
            payload: vec![seq as u8],
        }
    }

    fn send(o: &mut Outbox, window: usize) -> Vec<u64> {
        let mut out = Vec::new();
        while let Some(m) = o.next(window) {
            out.push(m.seq);
        }
        out
    }

    #[test]
    fn a_full_queue_drops_the_oldest() {
        let mut o = Outbox::new(3);
        for s in 1..=5 {
            o.push(msg(s));
        }
        assert_eq!(o.counters.dropped_oldest, 2);
        assert_eq!(send(&mut o, 10), vec![3, 4, 5]);
    }

    #[test]
    fn the_window_bounds_what_is_in_flight() {
        let mut o = Outbox::new(10);
        for s in 1..=5 {
            o.push(msg(s));
        }
        assert_eq!(send(&mut o, 2), vec![1, 2]);
        o.published(1);
        o.published(2);
        assert!(o.acked(1));
        assert!(!o.acked(1));
        assert_eq!(send(&mut o, 2), vec![3]);
        assert_eq!((o.counters.sent, o.counters.acked, o.held()), (3, 1, 4));
    }

    #[test]
    fn unacknowledged_messages_go_first_after_a_lost_connection() {
        let mut o = Outbox::new(4);
        for s in 1..=4 {
            o.push(msg(s));
        }
        assert_eq!(send(&mut o, 3), vec![1, 2, 3]);
        o.published(1);
        o.published(2);
        assert!(o.acked(1));
        // 2 was sent (its ack lost), 3 was handed over but never numbered.
        o.connection_lost();
        o.push(msg(5));
        // Queue: 2 3 4 5 — at its cap of 4, nothing dropped yet.
        assert_eq!(o.counters.dropped_oldest, 0);
        o.push(msg(6));
        // The oldest (2) goes.
        assert_eq!(o.counters.dropped_oldest, 1);
        assert_eq!(send(&mut o, 10), vec![3, 4, 5, 6]);
        assert_eq!(o.counters.resent, 1);
        // Packet ids restart with the new connection.
        for id in 1..=4 {
            o.published(id);
        }
        for id in 1..=4 {
            assert!(o.acked(id));
        }
        assert_eq!(o.held(), 0);
        assert_eq!(o.counters.acked, 5);
    }

    #[test]
    fn a_refused_hand_over_keeps_the_order() {
        let mut o = Outbox::new(4);
        o.push(msg(1));
        o.push(msg(2));
        assert_eq!(o.next(4).map(|m| m.seq), Some(1));
        o.unsend();
        assert_eq!(send(&mut o, 4), vec![1, 2]);
        assert_eq!(o.counters.sent, 2);
    }
}
