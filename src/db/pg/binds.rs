//! A diesel query as tokio-postgres takes it: its SQL, whether its statement may be kept, and
//! its parameters already serialized by diesel (binary format) with their types.

use std::borrow::Cow;

use diesel::QueryResult;
use diesel::pg::{
    FailedToLookupTypeError, Pg, PgMetadataCacheKey, PgMetadataLookup, PgTypeMetadata,
};
use diesel::query_builder::bind_collector::RawBytesBindCollector;
use diesel::query_builder::{QueryBuilder, QueryFragment, QueryId};
use tokio_postgres::types::private::BytesMut;
use tokio_postgres::types::{IsNull, Kind, ToSql, Type, to_sql_checked};

/// One statement, ready to send.
pub(super) struct Built {
    pub sql: String,
    /// Whether the same SQL always means the same statement (diesel's own judgement): only
    /// then is it prepared once and kept; otherwise it runs unnamed.
    pub cacheable: bool,
    pub params: Vec<Param>,
}

impl Built {
    pub fn of<T>(query: &T) -> QueryResult<Built>
    where
        T: QueryFragment<Pg> + QueryId + ?Sized,
    {
        let mut builder = diesel::pg::PgQueryBuilder::default();
        query.to_sql(&mut builder, &Pg)?;
        let mut collector = RawBytesBindCollector::<Pg>::new();
        query.collect_binds(&mut collector, &mut NoCustomTypes, &Pg)?;
        let params = collector
            .metadata
            .into_iter()
            .zip(collector.binds)
            .map(|(meta, bytes)| {
                Ok(Param {
                    ty: type_of(&meta)?,
                    bytes,
                })
            })
            .collect::<QueryResult<Vec<_>>>()?;
        Ok(Built {
            sql: builder.finish(),
            cacheable: query.is_safe_to_cache_prepared(&Pg)?,
            params,
        })
    }

    /// The parameters' types, in order.
    pub fn types(&self) -> Vec<Type> {
        self.params.iter().map(|p| p.ty.clone()).collect()
    }

    /// The parameters with their types, as `query_typed` takes them.
    pub fn typed(&self) -> impl Iterator<Item = (&Param, Type)> {
        self.params.iter().map(|p| (p, p.ty.clone()))
    }
}

/// A built-in type by its OID; any other OID (a type a query names by OID without it being
/// built in) travels as it is, with nothing else known of it.
fn type_of(meta: &PgTypeMetadata) -> QueryResult<Type> {
    let oid = meta
        .oid()
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    Ok(Type::from_oid(oid)
        .unwrap_or_else(|| Type::new(format!("oid {oid}"), oid, Kind::Simple, String::new())))
}

/// This server's queries name no type by name (enums, extensions): one that did fails to
/// build, with the type's name in the error, instead of being looked up in a round trip.
struct NoCustomTypes;

impl PgMetadataLookup for NoCustomTypes {
    fn lookup_type(&mut self, type_name: &str, schema: Option<&str>) -> PgTypeMetadata {
        let key = PgMetadataCacheKey::new(
            schema.map(|s| Cow::Owned(s.to_owned())),
            Cow::Owned(type_name.to_owned()),
        );
        PgTypeMetadata::from_result(Err(FailedToLookupTypeError::new(key)))
    }
}

/// One parameter: diesel's bytes (`None` for NULL) and the type they were written as.
#[derive(Debug)]
pub(super) struct Param {
    ty: Type,
    bytes: Option<Vec<u8>>,
}

impl ToSql for Param {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.bytes {
            Some(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    // The statement's parameter types are the ones these bytes were written for (they were
    // given to PostgreSQL when it was prepared), so every type is accepted.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}
