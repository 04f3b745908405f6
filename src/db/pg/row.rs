//! A tokio-postgres row as diesel reads it: each field's raw bytes (binary format, as every
//! statement of [`super::PgConn`] asks for) with its type's OID.

use std::num::NonZeroU32;

use diesel::pg::{Pg, PgValue, TypeOidLookup};
use diesel::row::{Field, PartialRow, Row, RowIndex, RowSealed};
use tokio_postgres::types::{FromSql, Type};

/// One row of a result.
pub struct PgRow {
    row: tokio_postgres::Row,
}

impl PgRow {
    pub(super) fn new(row: tokio_postgres::Row) -> Self {
        PgRow { row }
    }
}

impl RowSealed for PgRow {}

impl<'a> Row<'a, Pg> for PgRow {
    type InnerPartialRow = Self;
    type Field<'b>
        = PgField<'b>
    where
        Self: 'b,
        'a: 'b;

    fn field_count(&self) -> usize {
        self.row.len()
    }

    fn get<'b, I>(&'b self, idx: I) -> Option<Self::Field<'b>>
    where
        'a: 'b,
        Self: RowIndex<I>,
    {
        let idx = self.idx(idx)?;
        let oid = NonZeroU32::new(self.row.columns()[idx].type_().oid())?;
        Some(PgField {
            row: &self.row,
            idx,
            oid,
        })
    }

    fn partial_row(&self, range: std::ops::Range<usize>) -> PartialRow<'_, Self::InnerPartialRow> {
        PartialRow::new(self, range)
    }
}

impl RowIndex<usize> for PgRow {
    fn idx(&self, idx: usize) -> Option<usize> {
        (idx < self.row.len()).then_some(idx)
    }
}

impl<'a> RowIndex<&'a str> for PgRow {
    fn idx(&self, idx: &'a str) -> Option<usize> {
        self.row.columns().iter().position(|c| c.name() == idx)
    }
}

/// One field of a [`PgRow`]; it is its own type lookup (diesel asks a value for its OID).
pub struct PgField<'a> {
    row: &'a tokio_postgres::Row,
    idx: usize,
    oid: NonZeroU32,
}

impl TypeOidLookup for PgField<'_> {
    fn lookup(&self) -> NonZeroU32 {
        self.oid
    }
}

impl<'a> Field<'a, Pg> for PgField<'a> {
    fn field_name(&self) -> Option<&str> {
        Some(self.row.columns()[self.idx].name())
    }

    fn value(&self) -> Option<PgValue<'_>> {
        let Raw(bytes) = self.row.try_get(self.idx).ok()?;
        Some(PgValue::new(bytes?, self))
    }
}

/// A field's bytes as they came, whatever its type; `None` for NULL.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(None))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}
