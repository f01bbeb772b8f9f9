require('reflect-metadata');
const cv = require('class-validator'); const ct = require('class-transformer');
const core = require('./packages/core/dist/src');
const { TransformCompiler } = require('./packages/core/dist/src/codec/compiled/transform');
const { ValidateCompiler } = require('./packages/core/dist/src/codec/compiled/validate');
const { ReportBuilder } = require('./packages/core/dist/src/codec/compiled/report');
class RichLine { sku; quantity; price; }
class RichOrder { id; customer; placedAt; channel = 'web'; note; lines = []; }
const d = (dec, C, p) => dec(C.prototype, p);
d(cv.IsString(), RichLine, 'sku'); d(cv.Length(1,32), RichLine, 'sku'); d(cv.IsInt(), RichLine, 'quantity'); d(cv.IsPositive(), RichLine, 'quantity'); d(cv.IsPositive(), RichLine, 'price');
d(cv.IsInt(), RichOrder, 'id'); d(cv.IsEmail(), RichOrder, 'customer'); d(cv.IsISO8601(), RichOrder, 'placedAt'); d(cv.IsEnum({Web:'web',Shop:'shop'}), RichOrder, 'channel'); d(cv.IsString(), RichOrder, 'note'); d(cv.IsOptional(), RichOrder, 'note');
d(cv.ValidateNested({each:true}), RichOrder, 'lines'); d(ct.Type(() => RichLine), RichOrder, 'lines'); d(cv.ArrayMinSize(1), RichOrder, 'lines');
const rich = { id: 1042, customer: 'ada@example.com', placedAt: '2026-11-22T02:00:00Z', channel: 'shop', lines: [ { sku: 'TEA-001', quantity: 2, price: 19.99 }, { sku: 'MUG-017', quantity: 1, price: 5.5 }, { sku: 'SPOON-3', quantity: 12, price: 0.75 } ] };
function measure(name, fn, n=20000){for(let i=0;i<n;i++)fn();const s=process.hrtime.bigint();for(let i=0;i<n;i++)fn();console.log(name, (Number(process.hrtime.bigint()-s)/1000/n).toFixed(2));}
const rb = new ReportBuilder(); const tc = new TransformCompiler(rb);
const opts = { whitelist: true, forbidNonWhitelisted: false, forbidUnknownValues: true, validationError: {target:false, value:false}};
const vin = new ValidateCompiler(opts, rb), vout = new ValidateCompiler({...opts, whitelist:false}, rb);
const inst = tc.toInstance(RichOrder, rich);
console.log(inst);
measure('toInstance', () => tc.toInstance(RichOrder, rich));
measure('validate in', () => vin.validate(tc.toInstance(RichOrder, rich), true));
measure('validate out', () => vout.validate(inst, true));
measure('toPlain', () => tc.toPlain(inst));
const pl = tc.toPlain(inst); console.log(pl);
measure('stringify', () => JSON.stringify(pl));
measure('buffer', () => Buffer.from(JSON.stringify(pl), 'utf8'));
