// Placeholder until the gateway lands (see README "Status").
console.log('aurora-edge: the HTTP gateway is not built yet.');
console.log('Today you can run the model tools: npx aurora conform <fixture-dir>');
