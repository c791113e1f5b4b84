//! Requests from a central-management thread to the control loop, and the loop's answers.
//!
//! A central service (the SNMP agent, say) may ask for what an operator at the console may do — a
//! vehicle call, a planner change — and nothing else: each [`Request`] carries a console
//! [`Action`], and the loop applies it through the console's own path (`runtime::console::Bound`),
//! so the same safety rules hold whoever asks. The queues are fixed-size single-producer,
//! single-consumer rings made at start-up: the loop takes at most [`QUEUE`] requests per tick and
//! never waits; a service whose queue is full is told so at once ([`Busy`]).

use crate::console::view::{Action, Refused};

/// Requests (and answers) in flight per service.
pub const QUEUE: usize = 8;

/// Who asked (for the event log and the counters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Snmp,
    Mqtt,
}

/// One request: `id` is the service's own, echoed in the [`Reply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    pub id: u32,
    pub origin: Origin,
    pub action: Action,
}

/// The loop's answer to request `id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    pub id: u32,
    pub result: Result<(), Refused>,
}

/// The request queue was full: the loop has not yet taken the earlier requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

type RequestQueue = heapless::spsc::Queue<Request, QUEUE>;
type ReplyQueue = heapless::spsc::Queue<Reply, QUEUE>;

/// The service's end: sends requests, takes replies.
pub struct CommandClient {
    requests: heapless::spsc::Producer<'static, Request>,
    replies: heapless::spsc::Consumer<'static, Reply>,
}

/// The control loop's end: takes requests, sends replies.
pub struct CommandServer {
    requests: heapless::spsc::Consumer<'static, Request>,
    replies: heapless::spsc::Producer<'static, Reply>,
    /// Replies the service had not taken when the next one was due (each is still applied).
    pub replies_lost: u64,
}

/// One command channel. Start-up only: the two queues are allocated once and live as long as the
/// process (a controller makes one per configured service).
pub fn channel() -> (CommandClient, CommandServer) {
    let rq: &'static mut RequestQueue = Box::leak(Box::new(RequestQueue::new()));
    let pq: &'static mut ReplyQueue = Box::leak(Box::new(ReplyQueue::new()));
    let (rp, rc) = rq.split();
    let (pp, pc) = pq.split();
    (
        CommandClient {
            requests: rp,
            replies: pc,
        },
        CommandServer {
            requests: rc,
            replies: pp,
            replies_lost: 0,
        },
    )
}

impl CommandClient {
    /// Queues `r` for the loop; [`Busy`] if the queue is full.
    pub fn send(&mut self, r: Request) -> Result<(), Busy> {
        self.requests.enqueue(r).map_err(|_| Busy)
    }

    /// The oldest answer not yet taken.
    pub fn reply(&mut self) -> Option<Reply> {
        self.replies.dequeue()
    }
}

impl CommandServer {
    /// Takes the queued requests (at most [`QUEUE`]) and answers each with `apply`'s result.
    /// Returns how many were applied. Never waits, never allocates.
    pub fn serve(&mut self, mut apply: impl FnMut(&Request) -> Result<(), Refused>) -> usize {
        let mut n = 0;
        while n < QUEUE {
            let Some(r) = self.requests.dequeue() else { break };
            let result = apply(&r);
            if self.replies.enqueue(Reply { id: r.id, result }).is_err() {
                self.replies_lost += 1;
            }
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::PhaseId;

    fn call(id: u32, p: u8) -> Request {
        Request {
            id,
            origin: Origin::Snmp,
            action: Action::Recall(PhaseId::new(p).unwrap()),
        }
    }

    #[test]
    fn requests_are_applied_in_order_and_answered() {
        let (mut c, mut s) = channel();
        c.send(call(1, 2)).unwrap();
        c.send(call(2, 8)).unwrap();
        let mut seen = Vec::new();
        let n = s.serve(|r| {
            seen.push(r.id);
            if r.id == 2 {
                Err(Refused::NoSuchPhase)
            } else {
                Ok(())
            }
        });
        assert_eq!(n, 2);
        assert_eq!(seen, [1, 2]);
        assert_eq!(c.reply(), Some(Reply { id: 1, result: Ok(()) }));
        assert_eq!(
            c.reply(),
            Some(Reply {
                id: 2,
                result: Err(Refused::NoSuchPhase)
            })
        );
        assert_eq!(c.reply(), None);
    }

    #[test]
    fn a_full_queue_refuses_at_once_and_the_loop_takes_a_bounded_number() {
        let (mut c, mut s) = channel();
        let mut sent = 0;
        while c.send(call(sent, 2)).is_ok() {
            sent += 1;
            assert!(sent <= QUEUE as u32, "the queue holds at most QUEUE requests");
        }
        assert!(sent > 0);
        assert_eq!(c.send(call(99, 2)), Err(Busy));
        assert_eq!(s.serve(|_| Ok(())), sent as usize);
        assert_eq!(s.serve(|_| Ok(())), 0);
    }
}
