//! The commands a client sends (the first byte of each packet of the command phase),
//! parsed once into a typed [`Command`] the connection dispatches on.

/// One command of the command phase, with its body (still to be parsed where the command
/// has its own format).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// COM_QUIT: close the connection.
    Quit,
    /// COM_INIT_DB: make this database current.
    InitDb(&'a [u8]),
    /// COM_QUERY: statement text (possibly several statements).
    Query(&'a [u8]),
    /// COM_FIELD_LIST: a table's columns (old clients).
    FieldList(&'a [u8]),
    /// COM_PING.
    Ping,
    /// COM_CHANGE_USER: authenticate again as another user.
    ChangeUser(&'a [u8]),
    /// COM_STMT_PREPARE: statement text.
    StmtPrepare(&'a [u8]),
    /// COM_STMT_EXECUTE: statement id, flags and parameters.
    StmtExecute(&'a [u8]),
    /// COM_STMT_SEND_LONG_DATA: a piece of a parameter's value (no reply).
    StmtSendLongData(&'a [u8]),
    /// COM_STMT_CLOSE of a statement id (none if the body is too short; no reply).
    StmtClose(Option<u32>),
    /// COM_STMT_RESET of a statement id: forget its long data.
    StmtReset(Option<u32>),
    /// COM_SET_OPTION: multi-statements on (`Some(true)`) or off.
    SetOption(Option<bool>),
    /// COM_RESET_CONNECTION: a fresh session on the same connection.
    ResetConnection,
    /// Anything else, by its command byte.
    Unknown(u8),
}

/// A statement id at the start of `body`.
fn stmt_id(body: &[u8]) -> Option<u32> {
    body.get(..4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
}

impl<'a> Command<'a> {
    /// Parse a command packet; `None` for an empty one.
    pub fn parse(packet: &'a [u8]) -> Option<Command<'a>> {
        let (&cmd, body) = packet.split_first()?;
        Some(match cmd {
            0x01 => Command::Quit,
            0x02 => Command::InitDb(body),
            0x03 => Command::Query(body),
            0x04 => Command::FieldList(body),
            0x0e => Command::Ping,
            0x11 => Command::ChangeUser(body),
            0x16 => Command::StmtPrepare(body),
            0x17 => Command::StmtExecute(body),
            0x18 => Command::StmtSendLongData(body),
            0x19 => Command::StmtClose(stmt_id(body)),
            0x1a => Command::StmtReset(stmt_id(body)),
            0x1b => Command::SetOption((body.len() >= 2).then(|| body[0] == 0)),
            0x1f => Command::ResetConnection,
            other => Command::Unknown(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_their_arguments() {
        assert_eq!(Command::parse(&[]), None);
        assert_eq!(Command::parse(b"\x03SELECT 1"), Some(Command::Query(b"SELECT 1")));
        assert_eq!(Command::parse(&[0x19, 7, 0, 0, 0]), Some(Command::StmtClose(Some(7))));
        assert_eq!(Command::parse(&[0x1a, 1, 0]), Some(Command::StmtReset(None)), "a short body is no id");
        assert_eq!(Command::parse(&[0x1b, 1, 0]), Some(Command::SetOption(Some(false))));
        assert_eq!(Command::parse(&[0x1b, 0, 0]), Some(Command::SetOption(Some(true))));
        assert_eq!(Command::parse(&[0x1b]), Some(Command::SetOption(None)));
        assert_eq!(Command::parse(&[0xfe]), Some(Command::Unknown(0xfe)));
    }
}
