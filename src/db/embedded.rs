//! The embedded default database: a private PostgreSQL cluster in a data folder, started
//! from the locally installed server binaries (Debian: /usr/lib/postgresql/*/bin).
//!
//! PostgreSQL refuses to run as root, so when we are root the cluster is owned by and run
//! as the `postgres` system user. The server listens only on a unix socket inside our own
//! folder, so it never clashes with another PostgreSQL on the machine.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use log::info;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("no PostgreSQL server binaries found under /usr/lib/postgresql/*/bin; install them with `apt-get install postgresql postgresql-contrib` (or set DATABASE_URL)")]
    NoBinaries,
    #[error("running as root, but there is no `postgres` system user to run the database as; install `postgresql` (it creates that user) or set DATABASE_URL")]
    NoPostgresUser,
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("embedded database folder {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// How careful the cluster is with the disk: tests trade crash safety for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Full,
    Ephemeral,
}

#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    root: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
    started_here: bool,
}

impl EmbeddedPostgres {
    /// Prepares (without starting) a cluster under `root`. When we are root and the
    /// `postgres` user cannot reach `root`, the cluster moves to a folder it can reach.
    pub fn new(root: &Path) -> Result<Self, EmbeddedError> {
        let bin_dir = find_bin_dir().ok_or(EmbeddedError::NoBinaries)?;
        let run_as = if nix::unistd::geteuid().is_root() {
            let user = nix::unistd::User::from_name("postgres").ok().flatten().ok_or(EmbeddedError::NoPostgresUser)?;
            Some((user.uid.as_raw(), user.gid.as_raw()))
        } else {
            None
        };
        let mut root = absolute(root);
        if run_as.is_some() && !reachable_by_others(&root) {
            let fallback = std::env::temp_dir().join(format!("agent-ledger-{:016x}", fnv(root.to_string_lossy().as_bytes())));
            eprintln!("note: the postgres user cannot reach {}; using {} instead", root.display(), fallback.display());
            root = fallback;
        }
        // A unix socket path must stay under ~107 bytes.
        let mut socket_dir = root.join("run");
        if socket_dir.as_os_str().len() > 90 {
            socket_dir = std::env::temp_dir().join(format!("agent-ledger-sock-{:016x}", fnv(root.to_string_lossy().as_bytes())));
        }
        Ok(EmbeddedPostgres { bin_dir, root, socket_dir, port: 5432, run_as, started_here: false })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("pgdata")
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// A libpq connection string for `database` over our socket.
    pub fn url(&self, database: &str) -> String {
        format!("host='{}' port={} user=postgres dbname={database}", self.socket_dir.display(), self.port)
    }

    /// Initialises the cluster if needed and starts it unless it already runs. Safe to
    /// call from several processes at once (a file lock serialises them).
    pub fn ensure_running(&mut self, durability: Durability) -> Result<(), EmbeddedError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EmbeddedError::Io { path, source }
        };
        fs::create_dir_all(&self.root).map_err(io(&self.root))?;
        fs::create_dir_all(&self.socket_dir).map_err(io(&self.socket_dir))?;
        let lock_path = self.root.join("launch.lock");
        let lock = File::create(&lock_path).map_err(io(&lock_path))?;
        lock.lock().map_err(io(&lock_path))?;
        self.hand_over(&self.root)?;
        self.hand_over(&self.socket_dir)?;

        let data = self.data_dir();
        if !data.join("PG_VERSION").exists() {
            info!("initialising embedded PostgreSQL in {}", data.display());
            let _ = fs::remove_dir_all(&data);
            self.run("initdb", &["-D", &data.to_string_lossy(), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])?;
            let mut conf = fs::OpenOptions::new().append(true).open(data.join("postgresql.conf")).map_err(io(&data))?;
            writeln!(conf, "\ninclude_if_exists = 'agent_ledger.conf'").map_err(io(&data))?;
        }
        let tuning = match durability {
            Durability::Full => "",
            Durability::Ephemeral => "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
        };
        let settings = format!(
            "# written by agent-ledger at every start\nlisten_addresses = ''\nunix_socket_directories = '{}'\nport = {}\nmax_connections = 200\nshared_buffers = 512MB\nwork_mem = 32MB\nmaintenance_work_mem = 512MB\nmax_wal_size = 4GB\n{tuning}",
            self.socket_dir.display(),
            self.port
        );
        let conf_path = data.join("agent_ledger.conf");
        fs::write(&conf_path, settings).map_err(io(&conf_path))?;
        self.hand_over(&conf_path)?;

        if self.is_running() {
            return Ok(());
        }
        info!("starting embedded PostgreSQL (socket in {})", self.socket_dir.display());
        self.run("pg_ctl start", &["start", "-D", &data.to_string_lossy(), "-l", &self.log_file().to_string_lossy(), "-w", "-t", "60", "-s"])?;
        self.started_here = true;
        Ok(())
    }

    pub fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .args(["status", "-D", &self.data_dir().to_string_lossy()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Makes this (not yet initialised) cluster a streaming standby of `primary`:
    /// `pg_basebackup -R` (a copy, `standby.signal` and `primary_conninfo`); then
    /// `ensure_running` starts it, following the primary. For the read-replica test and for
    /// trying `--replica-url` on one machine.
    pub fn clone_from(&self, primary: &EmbeddedPostgres) -> Result<(), EmbeddedError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EmbeddedError::Io { path, source }
        };
        fs::create_dir_all(&self.root).map_err(io(&self.root))?;
        self.hand_over(&self.root)?;
        let data = self.data_dir();
        let port = primary.port.to_string();
        let host = primary.socket_dir.to_string_lossy().into_owned();
        self.run("pg_basebackup", &["-D", &data.to_string_lossy(), "-R", "-X", "stream", "-c", "fast", "-h", &host, "-p", &port, "-U", "postgres"])
    }

    /// Stops the cluster at once, as a crash would (`pg_ctl stop -m immediate`: no checkpoint,
    /// the next start recovers from the write-ahead log). For the fault harness.
    pub fn crash(&self) -> Result<(), EmbeddedError> {
        let data = self.data_dir();
        self.run("pg_ctl stop", &["stop", "-D", &data.to_string_lossy(), "-m", "immediate", "-w", "-s"])
    }

    /// Stops the cluster if this process started it.
    pub fn stop(&mut self) {
        if self.started_here {
            let data = self.data_dir();
            if let Err(e) = self.run("pg_ctl stop", &["stop", "-D", &data.to_string_lossy(), "-m", "fast", "-w", "-s"]) {
                eprintln!("warning: {e}");
            }
            self.started_here = false;
        }
    }

    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(tool));
        cmd.current_dir(&self.root).env_remove("PGDATA");
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    fn run(&self, what: &str, args: &[&str]) -> Result<(), EmbeddedError> {
        let tool = if what.starts_with("pg_ctl") { "pg_ctl" } else { what };
        let out =
            self.command(tool).args(args).stdin(Stdio::null()).output().map_err(|e| EmbeddedError::Command { what: what.into(), detail: e.to_string() })?;
        if out.status.success() {
            return Ok(());
        }
        let log_tail = fs::read_to_string(self.log_file()).unwrap_or_default().lines().rev().take(5).collect::<Vec<_>>().join("\n");
        Err(EmbeddedError::Command {
            what: what.into(),
            detail: format!("{}{}\n{log_tail}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout)),
        })
    }

    /// When running as root, the postgres user must own what the server writes.
    fn hand_over(&self, path: &Path) -> Result<(), EmbeddedError> {
        if let Some((uid, gid)) = self.run_as {
            chown(path, Some(uid), Some(gid)).map_err(|source| EmbeddedError::Io { path: path.into(), source })?;
        }
        Ok(())
    }
}

/// The newest installed server, e.g. /usr/lib/postgresql/15/bin.
pub fn find_bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether a non-owner can walk down to `path` (every existing ancestor has o+x).
fn reachable_by_others(path: &Path) -> bool {
    path.ancestors().skip(1).all(|dir| match fs::metadata(dir) {
        Ok(meta) => meta.permissions().mode() & 0o001 != 0,
        Err(_) => true, // not created yet: we create it world-traversable
    })
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3))
}
