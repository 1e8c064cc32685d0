// memlab (a dev dependency, used as an independent snapshot parser in tests and benchmarks)
// pulls in puppeteer; heapsnap never drives a browser through it, so skip its browser download
// (which also cannot work on machines without internet access).
module.exports = { skipDownload: true };
