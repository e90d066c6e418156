//! Protocol constants and the server's packets: handshake, OK, ERR, EOF, column
//! definitions, text and binary rows.

use super::packet::{put_lenenc_int, put_lenenc_str};

/// Capability flags.
pub mod cap {
    #![allow(missing_docs)]
    pub const LONG_PASSWORD: u32 = 1;
    pub const FOUND_ROWS: u32 = 2;
    pub const LONG_FLAG: u32 = 4;
    pub const CONNECT_WITH_DB: u32 = 8;
    pub const NO_SCHEMA: u32 = 0x10;
    pub const LOCAL_FILES: u32 = 0x80;
    pub const IGNORE_SPACE: u32 = 0x100;
    pub const PROTOCOL_41: u32 = 0x200;
    pub const INTERACTIVE: u32 = 0x400;
    pub const SSL: u32 = 0x800;
    pub const TRANSACTIONS: u32 = 0x2000;
    pub const SECURE_CONNECTION: u32 = 0x8000;
    pub const MULTI_STATEMENTS: u32 = 0x1_0000;
    pub const MULTI_RESULTS: u32 = 0x2_0000;
    pub const PS_MULTI_RESULTS: u32 = 0x4_0000;
    pub const PLUGIN_AUTH: u32 = 0x8_0000;
    pub const CONNECT_ATTRS: u32 = 0x10_0000;
    pub const PLUGIN_AUTH_LENENC_DATA: u32 = 0x20_0000;
    pub const DEPRECATE_EOF: u32 = 0x100_0000;

    /// What this server offers.
    pub const SERVER: u32 = LONG_PASSWORD
        | FOUND_ROWS
        | LOCAL_FILES
        | LONG_FLAG
        | CONNECT_WITH_DB
        | NO_SCHEMA
        | IGNORE_SPACE
        | PROTOCOL_41
        | INTERACTIVE
        | TRANSACTIONS
        | SECURE_CONNECTION
        | MULTI_STATEMENTS
        | MULTI_RESULTS
        | PS_MULTI_RESULTS
        | PLUGIN_AUTH
        | CONNECT_ATTRS
        | PLUGIN_AUTH_LENENC_DATA
        | DEPRECATE_EOF;
}

/// Server status flags.
pub mod status {
    #![allow(missing_docs)]
    pub const IN_TRANS: u16 = 0x0001;
    pub const AUTOCOMMIT: u16 = 0x0002;
    pub const MORE_RESULTS: u16 = 0x0008;
}

/// Column types.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ColType {
    Decimal = 0,
    Tiny = 1,
    Short = 2,
    Long = 3,
    Float = 4,
    Double = 5,
    Null = 6,
    Timestamp = 7,
    LongLong = 8,
    Int24 = 9,
    Date = 10,
    Time = 11,
    DateTime = 12,
    Year = 13,
    VarChar = 15,
    Bit = 16,
    Json = 245,
    NewDecimal = 246,
    Enum = 247,
    Set = 248,
    TinyBlob = 249,
    MediumBlob = 250,
    LongBlob = 251,
    Blob = 252,
    VarString = 253,
    String = 254,
}

/// Column flags.
pub mod flag {
    #![allow(missing_docs)]
    pub const NOT_NULL: u16 = 1;
    pub const PRI_KEY: u16 = 2;
    pub const UNIQUE_KEY: u16 = 4;
    pub const MULTIPLE_KEY: u16 = 8;
    pub const BLOB: u16 = 16;
    pub const UNSIGNED: u16 = 32;
    pub const BINARY: u16 = 128;
    pub const AUTO_INCREMENT: u16 = 512;
    pub const NUM: u16 = 32768;
}

/// Character set ids.
pub mod charset {
    /// utf8mb4_general_ci.
    pub const UTF8MB4: u16 = 45;
    /// binary.
    pub const BINARY: u16 = 63;
}

/// One result column as the client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Database it came from ("" for expressions).
    pub schema: String,
    /// Table alias ("" for expressions).
    pub table: String,
    /// Underlying table.
    pub org_table: String,
    /// Column label.
    pub name: String,
    /// Underlying column.
    pub org_name: String,
    /// Wire type.
    pub ty: ColType,
    /// Character set (63 = binary: clients return bytes).
    pub charset: u16,
    /// Display length.
    pub length: u32,
    /// Flags.
    pub flags: u16,
    /// Decimals.
    pub decimals: u8,
}

impl Column {
    /// A column with a name and type and defaults for the rest.
    pub fn new(name: &str, ty: ColType) -> Self {
        let binary = matches!(ty, ColType::Blob | ColType::TinyBlob | ColType::MediumBlob | ColType::LongBlob);
        let numeric = matches!(
            ty,
            ColType::Tiny
                | ColType::Short
                | ColType::Long
                | ColType::LongLong
                | ColType::Int24
                | ColType::Double
                | ColType::Float
                | ColType::NewDecimal
                | ColType::Decimal
                | ColType::Year
        );
        Column {
            schema: String::new(),
            table: String::new(),
            org_table: String::new(),
            name: name.to_string(),
            org_name: name.to_string(),
            ty,
            charset: if binary || numeric { charset::BINARY } else { charset::UTF8MB4 },
            length: match ty {
                ColType::LongLong => 20,
                ColType::Double => 22,
                ColType::DateTime | ColType::Timestamp => 19,
                ColType::Date => 10,
                _ => 1024,
            },
            flags: (if binary { flag::BLOB | flag::BINARY } else { 0 }) | (if numeric { flag::NUM } else { 0 }),
            decimals: if matches!(ty, ColType::Double) { 31 } else { 0 },
        }
    }

    /// The column definition packet (protocol 41).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(64);
        put_lenenc_str(&mut b, b"def");
        put_lenenc_str(&mut b, self.schema.as_bytes());
        put_lenenc_str(&mut b, self.table.as_bytes());
        put_lenenc_str(&mut b, self.org_table.as_bytes());
        put_lenenc_str(&mut b, self.name.as_bytes());
        put_lenenc_str(&mut b, self.org_name.as_bytes());
        b.push(0x0c);
        b.extend_from_slice(&self.charset.to_le_bytes());
        b.extend_from_slice(&self.length.to_le_bytes());
        b.push(self.ty as u8);
        b.extend_from_slice(&self.flags.to_le_bytes());
        b.push(self.decimals);
        b.extend_from_slice(&[0, 0]);
        b
    }
}

/// The initial handshake (protocol version 10).
pub fn handshake(server_version: &str, conn_id: u32, scramble: &[u8; 20], status_flags: u16) -> Vec<u8> {
    let mut b = Vec::with_capacity(128);
    b.push(10);
    b.extend_from_slice(server_version.as_bytes());
    b.push(0);
    b.extend_from_slice(&conn_id.to_le_bytes());
    b.extend_from_slice(&scramble[..8]);
    b.push(0);
    b.extend_from_slice(&(cap::SERVER as u16).to_le_bytes());
    b.push(charset::UTF8MB4 as u8);
    b.extend_from_slice(&status_flags.to_le_bytes());
    b.extend_from_slice(&((cap::SERVER >> 16) as u16).to_le_bytes());
    b.push(21);
    b.extend_from_slice(&[0; 10]);
    b.extend_from_slice(&scramble[8..]);
    b.push(0);
    b.extend_from_slice(b"mysql_native_password\0");
    b
}

/// An OK packet (`header` 0x00, or 0xFE where it replaces EOF).
pub fn ok(header: u8, affected: u64, last_insert_id: u64, status: u16, warnings: u16, info: &str) -> Vec<u8> {
    let mut b = vec![header];
    put_lenenc_int(&mut b, affected);
    put_lenenc_int(&mut b, last_insert_id);
    b.extend_from_slice(&status.to_le_bytes());
    b.extend_from_slice(&warnings.to_le_bytes());
    b.extend_from_slice(info.as_bytes());
    b
}

/// An ERR packet.
pub fn err(code: u16, sqlstate: &str, msg: &str) -> Vec<u8> {
    let mut b = vec![0xff];
    b.extend_from_slice(&code.to_le_bytes());
    b.push(b'#');
    let st = sqlstate.as_bytes();
    b.extend_from_slice(&st[..5.min(st.len())]);
    b.extend_from_slice(msg.as_bytes());
    b
}

/// A (deprecated but still expected by many clients) EOF packet.
pub fn eof(status: u16, warnings: u16) -> Vec<u8> {
    let mut b = vec![0xfe];
    b.extend_from_slice(&warnings.to_le_bytes());
    b.extend_from_slice(&status.to_le_bytes());
    b
}
