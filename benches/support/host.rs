//! What a wasm benchmark loop needs from its host: a clock, its arguments (numbers) and an
//! output. Under WASI the standard library has them; on wasm32-unknown-unknown, which has no
//! system interface, `benches/run-wasi.mjs` passes them in as the `bench` import module.
//! Included by the benches with `#[path]` (wasm32 only).

#[cfg(target_os = "wasi")]
mod system {
    use std::sync::OnceLock;
    use std::time::Instant;

    /// Milliseconds since the first call.
    pub fn millis() -> f64 {
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
    }

    /// The zone sizes asked for on the command line.
    pub fn sizes() -> Vec<usize> {
        std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect()
    }

    /// A line of the results (standard output).
    pub fn print(line: &str) {
        println!("{line}");
    }

    /// A line of progress (standard error).
    pub fn log(line: &str) {
        eprintln!("{line}");
    }
}

#[cfg(not(target_os = "wasi"))]
mod system {
    #[link(wasm_import_module = "bench")]
    extern "C" {
        /// `performance.now()`.
        fn now_ms() -> f64;
        /// The `index`th zone size asked for, 0 after the last.
        fn size(index: u32) -> f64;
        /// Writes `length` bytes of UTF-8 at `text` as a line to standard output (stream 1)
        /// or standard error (2).
        fn write_line(stream: u32, text: *const u8, length: usize);
    }

    pub fn millis() -> f64 {
        // SAFETY: a host function of no arguments that returns a number.
        unsafe { now_ms() }
    }

    pub fn sizes() -> Vec<usize> {
        // SAFETY: a host function that takes and returns numbers.
        (0..).map(|index| unsafe { size(index) } as usize).take_while(|size| *size > 0).collect()
    }

    fn write(stream: u32, line: &str) {
        // SAFETY: the host reads `line.len()` bytes at `line.as_ptr()` from this module's
        // memory during the call, while `line` is borrowed.
        unsafe { write_line(stream, line.as_ptr(), line.len()) }
    }

    pub fn print(line: &str) {
        write(1, line);
    }

    pub fn log(line: &str) {
        write(2, line);
    }
}

pub use system::*;
