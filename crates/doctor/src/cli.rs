//! The command line of the `xacct` binary, parsed without I/O beyond reading `--dax-ca`.

use crate::Options;

/// The usage text (`xacct --help`).
///
/// ```
/// assert!(xacct_doctor::USAGE.starts_with("usage: xacct doctor --role-arn ARN"));
/// ```
pub const USAGE: &str = "\
usage: xacct doctor --role-arn ARN [--external-id ID] [--session-name S] [--duration SECONDS]
                    [--region R] [--table T] [--dax ENDPOINT] [--dax-ca PEM_FILE] [--json]

Checks every hop from this host (account B) to DynamoDB and DAX in account A, and says what to fix.
Source credentials come from the default chain (environment, profile, SSO, web identity, ECS,
EC2); AWS_ENDPOINT_URL is honoured. Exit code: 0 when no check failed, 1 when one did, 2 for bad
arguments. Never prints a secret key, session token or the ExternalId.

  --role-arn ARN       the role in account A (required)
  --external-id ID     the ExternalId the role's trust policy requires; the run also checks that
                       the role refuses callers without it (that probe leaves an AccessDenied
                       AssumeRole event in account A's CloudTrail)
  --session-name S     the role session name (default xacct-doctor)
  --duration SECONDS   AssumeRole DurationSeconds
  --region R           the region (default: the default chain's)
  --table T            a table in account A: DescribeTable, then GetItem on a key that need not exist
  --dax ENDPOINT       a DAX cluster: dax://host[:8111] or daxs://host[:9111]
  --dax-ca PEM_FILE    extra CA certificates to trust for daxs://
  --json               print one JSON object instead of the human report";

/// What the command line asks for.
///
/// ```
/// use xacct_doctor::{parse_args, Command};
///
/// let cmd = parse_args(["doctor", "--role-arn", "arn:aws:iam::111111111111:role/R", "--json"])?;
/// match cmd {
///     Command::Doctor { options, json } => {
///         assert_eq!(options.role_arn, "arn:aws:iam::111111111111:role/R");
///         assert!(json);
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), xacct_doctor::UsageError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Command {
    /// `xacct doctor ...`: run the checks.
    Doctor {
        /// What to check.
        options: Box<Options>,
        /// `--json`.
        json: bool,
    },
    /// `--help` / `-h` / `help`.
    Help,
    /// `--version` / `-V`.
    Version,
}

/// A command line that cannot be run (exit code 2).
///
/// ```
/// let err = xacct_doctor::parse_args(["doctor"]).unwrap_err();
/// assert_eq!(err.to_string(), "--role-arn is required");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// No subcommand.
    #[error("no command given: try `xacct doctor --role-arn ARN`")]
    MissingCommand,
    /// Not `doctor`.
    #[error("unknown command `{0}`: the only command is `doctor`")]
    UnknownCommand(String),
    /// A flag this command does not have.
    #[error("unknown option `{0}`")]
    UnknownFlag(String),
    /// A flag given without its value.
    #[error("{0} needs a value")]
    MissingValue(String),
    /// A flag given twice.
    #[error("{0} is given twice")]
    Repeated(String),
    /// `--role-arn` missing.
    #[error("--role-arn is required")]
    MissingRoleArn,
    /// `--duration` is not a whole number of seconds.
    #[error("--duration must be a whole number of seconds, not `{0}`")]
    BadDuration(String),
    /// An empty value.
    #[error("{0} must not be empty")]
    Empty(String),
    /// `--role-arn` is not a role ARN.
    #[error("--role-arn `{0}` is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")]
    BadRoleArn(String),
    /// `--dax` is not a DAX endpoint URL.
    #[error("--dax: {0}")]
    BadDaxEndpoint(String),
    /// `--dax-ca` cannot be read.
    #[error("cannot read --dax-ca {path}")]
    ReadCa {
        /// The path given.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Parses the arguments after the program name.
///
/// ```
/// use xacct_doctor::parse_args;
/// assert!(parse_args(["doctor", "--role-arn"]).is_err());
/// assert!(parse_args(["doctor", "--role-arn=arn:aws:iam::1:role/R", "--duration", "900"]).is_ok());
/// assert!(parse_args(["doctor", "--role-arn", "arn:aws:iam::1:role/R", "--duration", "soon"]).is_err());
/// assert!(parse_args(["doctor", "--role-arn", "not-an-arn"]).is_err());
/// assert!(parse_args(["doctor", "--role-arn", "arn:aws:iam::1:role/R", "--dax", "https://x"]).is_err());
/// ```
pub fn parse_args<I, S>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut args = args.into_iter().map(Into::into);
    let cmd = match args.next() {
        None => return Err(UsageError::MissingCommand),
        Some(c) => c,
    };
    match cmd.as_str() {
        "-h" | "--help" | "help" => return Ok(Command::Help),
        "-V" | "--version" => return Ok(Command::Version),
        "doctor" => {}
        other => return Err(UsageError::UnknownCommand(other.to_owned())),
    }
    let mut options = Options::default();
    let mut role_arn = None;
    let mut json = false;
    let mut ca_path: Option<String> = None;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--json" => {
                if inline.is_some() {
                    return Err(UsageError::UnknownFlag(arg));
                }
                json = true;
                continue;
            }
            "--role-arn" | "--external-id" | "--session-name" | "--duration" | "--region"
            | "--table" | "--dax" | "--dax-ca" => {}
            _ => return Err(UsageError::UnknownFlag(arg)),
        }
        let value = match inline {
            Some(v) => v,
            None => args
                .next()
                .ok_or_else(|| UsageError::MissingValue(flag.clone()))?,
        };
        if value.is_empty() {
            return Err(UsageError::Empty(flag));
        }
        fn set<T>(slot: &mut Option<T>, v: T, flag: &str) -> Result<(), UsageError> {
            if slot.is_some() {
                return Err(UsageError::Repeated(flag.to_owned()));
            }
            *slot = Some(v);
            Ok(())
        }
        match flag.as_str() {
            "--role-arn" => set(&mut role_arn, value, &flag)?,
            "--external-id" => set(&mut options.external_id, value, &flag)?,
            "--session-name" => set(&mut options.session_name, value, &flag)?,
            "--duration" => {
                let d = value
                    .parse::<i32>()
                    .map_err(|_| UsageError::BadDuration(value.clone()))?;
                set(&mut options.duration_seconds, d, &flag)?
            }
            "--region" => set(&mut options.region, value, &flag)?,
            "--table" => set(&mut options.table, value, &flag)?,
            "--dax" => set(&mut options.dax, value, &flag)?,
            _ => set(&mut ca_path, value, &flag)?,
        }
    }
    options.role_arn = role_arn.ok_or(UsageError::MissingRoleArn)?;
    if crate::fixes::RoleArn::parse(&options.role_arn).is_none() {
        return Err(UsageError::BadRoleArn(options.role_arn));
    }
    if let Some(dax) = &options.dax {
        xacct_dax_transport::check_endpoint(dax)
            .map_err(|e| UsageError::BadDaxEndpoint(e.to_string()))?;
    }
    if let Some(path) = ca_path {
        let pem = std::fs::read(&path).map_err(|source| UsageError::ReadCa { path, source })?;
        options.dax_ca_pem = Some(pem);
    }
    Ok(Command::Doctor {
        options: Box::new(options),
        json,
    })
}
