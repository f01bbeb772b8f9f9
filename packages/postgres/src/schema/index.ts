export { install, installSql } from './install';
export { tableNames, type SchemaOptions, type TableNames } from './names';
