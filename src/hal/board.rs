//! The board file as the hardware sees it: the validated [`Board`] from `config::board` (parsing and
//! validation live there). The hardware is built from it in `hal::gpio` (relays and inputs over a
//! `GpioBank`) and `hal::linux::bank` (the chips named by the board).

pub use crate::config::board::{
    Board, BoardData, BoardError, Chip, ChipDriver, HeadLines, InputKind, InputLine, LineRef, PedLines, MAX_CHIPS,
    MAX_INPUTS, PATH_LEN,
};
