//! Threads that outlive their job and take the next one: the sink's writer threads in the
//! WebAssembly analyzer (wasm32-wasip1-threads).
//!
//! There every thread is a Node worker of the host process (lib/loader/wasm.js), started from
//! the JS thread: its JS objects (the Worker, its message ports, listeners) live in the heap
//! of the process that dumps, and the worker of an ended thread returns to emnapi's pool only
//! once the event loop runs. With a thread per sink, every file written within one JS task
//! started a new worker (three `writeSnapshot` calls in a row: six, counting the memory
//! records), each one an object allocated between two snapshots to a leak analysis of that
//! process. Here a writer thread, once its job is done, waits for the next sink's: a process
//! has as many as it ever wrote files at once (one, or two while an async finish overlaps the
//! next dump), the first started before its first snapshot.
//!
//! Native builds keep a thread per sink (threads are invisible there); this module compiles
//! everywhere so its tests run with the crate's.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

/// How long [`Pool::start`] waits for a new thread to run.
const START_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// What a job leaves for its joiner, handed over once its thread is back among the idle ones.
type Publish = Box<dyn FnOnce() + Send>;
type Job = Box<dyn FnOnce() -> Publish + Send>;

/// Threads that take jobs; the process's one is [`spawn`]'s.
pub struct Pool {
    /// Threads waiting for a job, each by the sender of its own queue; the last idle goes first.
    idle: Mutex<Vec<Sender<Job>>>,
}

static POOL: Pool = Pool::new();

/// Runs `f` on an idle thread of the process's pool, or on a new one (named `name`).
pub fn spawn<T, F>(name: &str, f: F) -> io::Result<Handle<T>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    POOL.spawn(name, f)
}

/// A job's result, as `std::thread::JoinHandle` gives a thread's.
pub struct Handle<T> {
    result: Receiver<thread::Result<T>>,
    finished: Arc<AtomicBool>,
}

impl<T> Handle<T> {
    /// Whether the job has ended (`join` then returns at once).
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Waits for the job's end: its value, or the payload of its panic.
    pub fn join(self) -> thread::Result<T> {
        self.result
            .recv()
            .unwrap_or_else(|_| Err(Box::new("heapsnap: a reused thread ended without a result")))
    }
}

impl Pool {
    pub const fn new() -> Pool {
        Pool { idle: Mutex::new(Vec::new()) }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Sender<Job>>> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on an idle thread, or on a new one (named `name`) when none is idle.
    pub fn spawn<T, F>(&'static self, name: &str, f: F) -> io::Result<Handle<T>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (result_tx, result) = mpsc::sync_channel(1);
        let finished = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&finished);
        let mut job: Job = Box::new(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(f));
            Box::new(move || {
                // The joiner may be gone (a sink dropped without joining): nothing to tell then.
                let _ = result_tx.send(outcome);
                done.store(true, Ordering::Release);
            })
        });
        loop {
            let Some(queue) = self.idle().pop() else {
                self.start(name, job)?;
                break;
            };
            match queue.send(job) {
                Ok(()) => break,
                // Cannot happen (a thread holds its queue's receiver forever); the next one then.
                Err(mpsc::SendError(back)) => job = back,
            }
        }
        Ok(Handle { result, finished })
    }

    /// A new thread that runs `first`, then every job sent to it, idle in between.
    fn start(&'static self, name: &str, first: Job) -> io::Result<()> {
        let (queue, jobs) = mpsc::channel::<Job>();
        queue.send(first).map_err(|_| io::Error::other("heapsnap: a new thread's queue is closed"))?;
        let (running_tx, running) = mpsc::sync_channel::<()>(1);
        thread::Builder::new().name(name.into()).spawn(move || {
            let _ = running_tx.send(());
            // `queue` lives here too, so the loop never ends: the thread waits for the next job.
            for job in jobs.iter() {
                let publish = job();
                // Idle before its joiner hears of the end: a sink created right after the last
                // one finished (the memory record after its snapshot) gets this thread.
                self.idle().push(queue.clone());
                publish();
            }
        })?;
        // Returns once the thread runs. In the WebAssembly build it is a Node worker of the
        // dumping process, and the sink that starts it is created right before a snapshot: the
        // worker then boots (its isolate, its instance of the module on the shared memory)
        // before that snapshot, not inside it. Bounded: a worker that never starts must not
        // hang the dump (the job waits in its queue meanwhile).
        let _ = running.recv_timeout(START_WAIT);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// A pool of the test's own: tests run in parallel, and would take each other's threads.
    fn pool() -> &'static Pool {
        Box::leak(Box::new(Pool::new()))
    }

    fn thread_id() -> thread::ThreadId {
        thread::current().id()
    }

    #[test]
    fn a_job_after_another_has_ended_runs_on_its_thread() {
        let pool = pool();
        let first = pool.spawn("heapsnap-test", thread_id).unwrap().join().unwrap();
        assert_ne!(first, thread_id());
        for _ in 0..5 {
            assert_eq!(pool.spawn("heapsnap-test", thread_id).unwrap().join().unwrap(), first);
        }
    }

    #[test]
    fn jobs_at_once_run_on_threads_of_their_own_which_stay_for_later_jobs() {
        let pool = pool();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let go_rx = Arc::new(Mutex::new(go_rx));
        // Each job waits for a go the test gives only once all three are running.
        let waiting: Vec<_> = (0..3)
            .map(|_| {
                let go = Arc::clone(&go_rx);
                pool.spawn("heapsnap-test", move || {
                    go.lock().unwrap().recv().unwrap();
                    thread_id()
                })
                .unwrap()
            })
            .collect();
        assert!(waiting.iter().all(|h| !h.is_finished()));
        for _ in 0..3 {
            go_tx.send(()).unwrap();
        }
        let ids: HashSet<_> = waiting.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(ids.len(), 3);
        let later: HashSet<_> = (0..3).map(|_| pool.spawn("heapsnap-test", thread_id).unwrap().join().unwrap()).collect();
        assert!(later.is_subset(&ids), "no new thread once three are idle");
    }

    #[test]
    fn a_panic_reaches_the_joiner_and_its_thread_takes_the_next_job() {
        let pool = pool();
        let panicked = pool.spawn("heapsnap-test", || -> thread::ThreadId { panic!("boom") }).unwrap();
        let payload = panicked.join().unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
        let next = pool.spawn("heapsnap-test", thread_id).unwrap().join().unwrap();
        assert_eq!(pool.spawn("heapsnap-test", thread_id).unwrap().join().unwrap(), next);
    }

    #[test]
    fn finished_once_the_result_is_there() {
        let handle = pool().spawn("heapsnap-test", || 1u8).unwrap();
        while !handle.is_finished() {
            thread::yield_now();
        }
        assert_eq!(handle.join().unwrap(), 1);
    }
}
