//! Work for the end of the current task: one microtask (`queueMicrotask`) runs every job
//! queued since it was last run, in order. The closure it runs is made once per page and lives
//! as long as the page, so no job ever finds it dropped; the jobs hold only what they need
//! (a driver's weak handle, sockets to free).
//!
//! The driver defers three things this way: its end-of-tick flush, freeing a socket it is done
//! with (never inside one of that socket's own callbacks), and reporting a socket that could
//! not be opened (never inside the call that asked for it); tab sharing defers its own work.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsCast;

use crate::core::SocketId;
use crate::driver::DriverHandle;
use crate::protocol::CloseCode;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = queueMicrotask)]
    fn queue_microtask(callback: &js_sys::Function);
}

/// One thing to do at the end of the task.
pub(crate) enum Job {
    /// The client's end-of-tick flush.
    Flush(DriverHandle),
    /// Something to drop (a socket and its listeners).
    Free(Box<dyn std::any::Any>),
    /// A socket that could not be opened: reported closed, abnormally.
    Failed(DriverHandle, SocketId),
    /// Anything else (tab sharing's deferred work).
    #[cfg(feature = "tabs")]
    Run(Box<dyn FnOnce()>),
}

struct Queue {
    jobs: Rc<RefCell<Vec<Job>>>,
    task: Closure<dyn FnMut()>,
}

thread_local! {
    static QUEUE: Queue = {
        let jobs: Rc<RefCell<Vec<Job>>> = Rc::default();
        let queued = jobs.clone();
        let task = Closure::<dyn FnMut()>::new(move || {
            // Jobs queued while these run go in a fresh list, with a microtask of their own.
            let jobs = std::mem::take(&mut *queued.borrow_mut());
            for job in jobs {
                match job {
                    Job::Flush(driver) => driver.handle_flush(),
                    Job::Free(value) => drop(value),
                    Job::Failed(driver, socket) => {
                        driver.handle_socket_closed(socket, CloseCode::ABNORMAL, "invalid url")
                    }
                    #[cfg(feature = "tabs")]
                    Job::Run(f) => f(),
                }
            }
        });
        Queue { jobs, task }
    };
}

/// Runs `job` at the end of the current task.
pub(crate) fn later(job: Job) {
    QUEUE.with(|q| {
        let first = {
            let mut jobs = q.jobs.borrow_mut();
            jobs.push(job);
            jobs.len() == 1
        };
        if first {
            queue_microtask(q.task.as_ref().unchecked_ref());
        }
    });
}
